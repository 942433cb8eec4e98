/**
 * A network of Linux network namespaces for the nemesis: node i runs in namespace `vnem<i>`,
 * joined to a bridge on the host by a veth pair, at 10.77.0.(10 + i); the host (the clients, the
 * runner) is 10.77.0.1 on the bridge. A partition is made inside the namespaces: each node gets a
 * blackhole route to every node outside its group, so their packets are dropped both ways while
 * the host still reaches everyone (the clients keep talking to both sides, as clients of a real
 * partitioned cluster do). Needs root and iproute2; `available()` says why not otherwise.
 */
import { execFileSync } from 'node:child_process';

const BRIDGE = 'vnem-br';
const SUBNET = '10.77.0';
const ns = (i: number) => `vnem${i}`;
const veth = (i: number) => `vnem-v${i}`;
export const hostOf = (i: number) => `${SUBNET}.${10 + i}`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
const quietly = (f: () => void) => {
  try {
    f();
  } catch {
    // (cleanup of what may not exist)
  }
};

/** Undefined when namespaces can be made here, else why not. */
export function available(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    ip('netns', 'add', 'vnem-probe');
    ip('netns', 'del', 'vnem-probe');
    return undefined;
  } catch (e) {
    return `cannot create a network namespace: ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`;
  }
}

export interface NetnsNet {
  readonly hosts: readonly string[];
  /** The command prefix that runs a process in node i's namespace. */
  wrapper(i: number): readonly string[];
  /** Cuts every pair of nodes in different groups (nodes in no group are cut from everyone). */
  partition(groups: readonly (readonly number[])[]): void;
  heal(): void;
  teardown(): void;
}

export function createNetns(n: number): NetnsNet {
  const teardown = () => {
    for (let i = 0; i < n + 8; i++) {
      quietly(() => ip('netns', 'del', ns(i)));
      // (The pair goes with its namespace — unless a process still holds the namespace.)
      quietly(() => ip('link', 'del', veth(i)));
    }
    quietly(() => ip('link', 'del', BRIDGE));
  };
  teardown(); // what an interrupted run left behind
  ip('link', 'add', BRIDGE, 'type', 'bridge');
  ip('addr', 'add', `${SUBNET}.1/24`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  for (let i = 0; i < n; i++) {
    ip('netns', 'add', ns(i));
    ip('link', 'add', veth(i), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(i));
    ip('link', 'set', veth(i), 'master', BRIDGE, 'up');
    ip('-n', ns(i), 'addr', 'add', `${hostOf(i)}/24`, 'dev', 'eth0');
    ip('-n', ns(i), 'link', 'set', 'eth0', 'up');
    ip('-n', ns(i), 'link', 'set', 'lo', 'up');
  }
  const cut = new Set<string>(); // `${from}>${to}`: a blackhole route in from's namespace
  const heal = () => {
    for (const key of cut) {
      const [from, to] = key.split('>').map(Number) as [number, number];
      quietly(() => ip('-n', ns(from), 'route', 'del', 'blackhole', `${hostOf(to)}/32`));
    }
    cut.clear();
  };
  return {
    hosts: Array.from({ length: n }, (_, i) => hostOf(i)),
    wrapper: (i) => ['ip', 'netns', 'exec', ns(i)],
    partition(groups) {
      heal();
      const groupOf = new Map<number, number>();
      groups.forEach((g, k) => {
        for (const i of g) groupOf.set(i, k);
      });
      for (let a = 0; a < n; a++)
        for (let b = 0; b < n; b++) {
          if (a === b || (groupOf.has(a) && groupOf.get(a) === groupOf.get(b))) continue;
          ip('-n', ns(a), 'route', 'add', 'blackhole', `${hostOf(b)}/32`);
          cut.add(`${a}>${b}`);
        }
    },
    heal,
    teardown,
  };
}
