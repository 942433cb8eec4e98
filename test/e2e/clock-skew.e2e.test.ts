// Real validators with clocks 20 s off (libfaketime): one ahead, one behind. Blocks are stamped and
// checked against the validators' median clock while a node's own is off, so both keep taking
// part — the one behind executes and proposes blocks that get committed, the one ahead gets its
// blocks accepted; both warn, report the offset in /status and fail /health with the reason.
// Needs libfaketime (.ci/run installs Debian's faketime; elsewhere the test says why it skips).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RpcClient } from '../../src/rpc/client.ts';
import { type Cluster, createCluster, fakeClock, heights, LIBFAKETIME, tmpDir, waitFor } from './helpers.ts';
import { afterSuite } from './suite-dir.ts';

const hasFaketime = LIBFAKETIME !== undefined;
const SKEW = { 1: '+20s', 2: '-20s' } as const;

describe.skipIf(!hasFaketime)('e2e: validators with clocks 20 s off (needs libfaketime)', () => {
  let cluster: Cluster;
  let dir: string | undefined;

  beforeAll(async () => {
    dir = await tmpDir('verity-e2e-skew-');
    cluster = await createCluster({
      dir,
      validators: 4,
      engine: 'hotstuff',
      slot: 34,
    });
    cluster.start(0);
    // Under a shell that forks it (`; :` keeps sh from exec'ing): a wrapper that does not pass
    // signals on, which the last test must still stop (the faketime command was one).
    cluster.start(1, ['sh', '-c', '"$@"; :', 'sh', ...fakeClock(SKEW[1])]);
    cluster.start(2, fakeClock(SKEW[2]));
    cluster.start(3);
  });

  afterSuite(
    () => dir,
    () => cluster?.stopAll(),
  );

  it('both keep committing and proposing, report the offset and warn', async () => {
    await waitFor('every node at height ≥ 8', async () =>
      (await heights(cluster, [0, 1, 2, 3])).every((h) => h >= 8) ? true : undefined,
    );
    for (const [i, sign] of [
      [1, 1],
      [2, -1],
    ] as const) {
      const rpc = cluster.clients[i] as RpcClient;
      const status = (await rpc.get('/status')) as { clockOffsetMs: number | null };
      expect(status.clockOffsetMs, `node ${i}`).not.toBeNull();
      expect(sign * (status.clockOffsetMs as number)).toBeGreaterThan(15_000);
      const health = await fetch(`${rpc.base}/health`);
      expect(health.status).toBe(503);
      // 20 s of skew, measured net of message delay: 19.9 s was seen on a loaded machine.
      expect(JSON.stringify(await health.json())).toMatch(
        /clock is (1[5-9]|2\d)\.\d s (ahead of|behind) its peers/,
      );
      const log = readFileSync(join(cluster.manifest.nodes[i]?.home as string, 'node.log'), 'utf8');
      expect(log).toMatch(/this node's clock is (1[5-9]|2\d)\.\d s (ahead of|behind) its peers/);
      expect(log).not.toMatch(/rejected proposed block/);
    }
    // Blocks proposed by each skewed validator are in the chain.
    const rpc = cluster.clients[3] as RpcClient;
    const proposers = new Set<string>();
    const top = (await heights(cluster, [3]))[0] as number;
    for (let h = 1; h <= top; h++) {
      const b = (await rpc.get(`/block?height=${h}`)) as { header: { proposer: string } };
      proposers.add(b.header.proposer);
    }
    const validators = (await rpc.get('/validators')) as { validators: Array<{ address: string }> };
    for (const i of [1, 2])
      expect(proposers, `validator ${i} proposed`).toContain(validators.validators[i]?.address);
  }, 240_000);

  // Node 1's shell forked it and does not pass signals on: stopped alone, it would leave the node
  // running. The cluster signals a wrapped node's whole group.
  it('stopping the cluster stops the nodes on a fake clock too', async () => {
    await cluster.stopAll(); // returns once each node is gone, not just its wrapper
    const homes = cluster.manifest.nodes.map((n) => n.home);
    expect(runningWith(homes)).toEqual([]);
  }, 30_000);
});

/** Command lines of this machine's processes that mention one of the homes (Linux /proc). */
function runningWith(homes: readonly string[]): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // it exited meanwhile
    }
    if (homes.some((h) => cmd.includes(h))) out.push(`${pid}: ${cmd.trim()}`);
  }
  return out;
}
