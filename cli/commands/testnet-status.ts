/**
 * `verity testnet status`: one view of every node of a testnet (after `etcdctl endpoint status
 * --cluster -w table`): asks each node of the manifest for /status at once, with a short timeout,
 * and shows a node that does not answer as down.
 */
import { readFile } from 'node:fs/promises';
import { VerityError } from '../../crypto/errors.ts';
import type { TestnetManifest } from '../../src/node/testnet-manifest.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import { type Command, EXIT_FAILED, EXIT_OK, str } from '../framework.ts';
import { LOCAL_TESTNET_DIR } from './defaults.ts';
import { manifestForUsage, testnetDirOption } from './testnet-dir.ts';

/** How long a node has to answer before it is shown as down. */
export const STATUS_TIMEOUT_MS = 1_500;

export type NodeStatus =
  | {
      readonly name: string;
      readonly rpc: string;
      readonly up: true;
      readonly height: number;
      readonly round: number;
      readonly step: string;
      /** The validator index this node sees as leader (null: none, or the engine has none). */
      readonly leader: number | null;
      readonly leaderName: string | null;
      readonly peers: number;
      readonly mempool: number;
      readonly syncing: boolean;
      /** Time of its latest committed block (ms since the epoch) and how long ago that was. */
      readonly latestTime: number;
      readonly lastCommitAgeMs: number;
    }
  | { readonly name: string; readonly rpc: string; readonly up: false; readonly error: string };

/** Validator names by index, from the testnet's genesis (empty if it cannot be read). */
async function validatorNames(m: TestnetManifest): Promise<string[]> {
  try {
    const g = JSON.parse(await readFile(m.genesis, 'utf8')) as { validators?: Array<{ name?: unknown }> };
    return (g.validators ?? []).map((v, i) => (typeof v.name === 'string' ? v.name : `#${i}`));
  } catch {
    return [];
  }
}

async function nodeStatus(node: TestnetManifest['nodes'][number], names: string[]): Promise<NodeStatus> {
  const base = { name: node.name, rpc: node.rpc };
  try {
    const s = await new RpcClient(node.rpc, { timeoutMs: STATUS_TIMEOUT_MS }).status();
    const leader = typeof s.leader === 'number' ? s.leader : null;
    return {
      ...base,
      up: true,
      height: s.height,
      round: s.round,
      step: s.step,
      leader,
      leaderName: leader === null ? null : (names[leader] ?? `#${leader}`),
      peers: s.peers,
      mempool: s.mempool?.size ?? 0,
      syncing: s.syncing,
      latestTime: s.latestTime,
      lastCommitAgeMs: Math.max(0, Date.now() - s.latestTime),
    };
  } catch (e) {
    if (!(e instanceof VerityError)) throw e;
    const cause = e.meta.cause;
    const error =
      cause === 'TimeoutError'
        ? `no answer within ${STATUS_TIMEOUT_MS / 1000} s`
        : typeof cause === 'string'
          ? `unreachable (${cause})`
          : `${e.message} [${e.code}]`;
    return { ...base, up: false, error };
  }
}

/** "0.4 s", "12 s", "3 min", "5 h", "2 d". */
export function formatAge(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * 86_400_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

function renderTable(m: TestnetManifest, dir: string, nodes: readonly NodeStatus[]): string {
  const header = [
    'NODE',
    'RPC',
    'STATUS',
    'HEIGHT',
    'ROUND',
    'STEP',
    'LEADER',
    'PEERS',
    'MEMPOOL',
    'LAST COMMIT',
  ];
  const rows = nodes.map((n) =>
    n.up
      ? [
          n.name,
          n.rpc,
          n.syncing ? 'syncing' : 'up',
          String(n.height),
          String(n.round),
          n.step,
          n.leaderName ?? '-',
          String(n.peers),
          String(n.mempool),
          `${formatAge(n.lastCommitAgeMs)} ago`,
        ]
      : [n.name, n.rpc, 'down', '-', '-', '-', '-', '-', '-', '-'],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const up = nodes.filter((n) => n.up).length;
  const down = nodes.filter((n): n is Extract<NodeStatus, { up: false }> => !n.up);
  return [
    `testnet "${m.chainId}" (${m.engine}) in ${dir}: ${up} of ${nodes.length} nodes up`,
    line(header),
    ...rows.map(line),
    ...down.map((n) => `${n.name} is down: ${n.error}`),
  ].join('\n');
}

export const testnetStatus: Command = {
  name: 'testnet status',
  summary: 'one line per node of a testnet: height, round, leader, peers, mempool, last commit, or down',
  synopsis: '[--dir DIR]',
  description: [
    `Asks every node of DIR/testnet.json for its status at once; a node that does not answer within`,
    `${STATUS_TIMEOUT_MS / 1000} s is down. LEADER is the leader as that node sees it; LAST COMMIT is the age of its`,
    'latest block (by the block time, the proposer clock). --json: {chainId, engine, dir, ok, up,',
    'down, nodes: [{name, rpc, up, height, round, step, leader, leaderName, peers, mempool, syncing,',
    'latestTime, lastCommitAgeMs} or {name, rpc, up: false, error}]}.',
    'Exit codes: 0 every node answered, 1 some node is down, 2 usage error (no testnet in DIR).',
  ].join('\n'),
  options: {
    ...testnetDirOption,
  },
  examples: ['verity testnet status', 'verity testnet status --dir ./net --json'],
  async run({ values, out }) {
    const dir = str(values, 'dir') ?? LOCAL_TESTNET_DIR;
    const m = await manifestForUsage(dir);
    const names = await validatorNames(m);
    const nodes = await Promise.all(m.nodes.map((n) => nodeStatus(n, names)));
    const up = nodes.filter((n) => n.up).length;
    const ok = up === nodes.length;
    out.result({ chainId: m.chainId, engine: m.engine, dir, ok, up, down: nodes.length - up, nodes }, () =>
      renderTable(m, dir, nodes),
    );
    return ok ? EXIT_OK : EXIT_FAILED;
  },
};
