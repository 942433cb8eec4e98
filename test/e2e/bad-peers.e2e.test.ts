// Hostile peers against a real testnet: a node outside genesis is refused; a peer holding a
// validator's key sends garbage, oversized frames and badly signed messages; nobody crashes and
// the honest majority keeps committing; one that equivocates is caught with verifiable evidence.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelope, sealEnvelope } from '../../consensus/envelope.ts';
import { tendermintCodec } from '../../consensus/tendermint/messages.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { loadKey } from '../../src/keystore.ts';
import { createLibp2pNetwork, type Libp2pNetwork } from '../../src/net/index.ts';
import { runVerity } from '../helpers/cli.ts';
import { type Cluster, createCluster, heights, tmpDir, waitFor } from './helpers.ts';
import { afterSuite } from './suite-dir.ts';

describe('e2e hostile peers', () => {
  let cluster: Cluster;
  let dir: string | undefined;
  const attackers: Libp2pNetwork[] = [];

  beforeAll(async () => {
    dir = await tmpDir('verity-e2e-bad-');
    cluster = await createCluster({
      dir,
      validators: 4,
      engine: 'tendermint',
      slot: 20,
    });
    // Validator 3 stays down: its key is used by the attacker; 3 of 4 honest nodes still commit.
    for (let i = 0; i < 3; i++) cluster.start(i);
    await waitFor('three nodes committing', async () =>
      (await heights(cluster, [0, 1, 2])).every((h) => h >= 2) ? true : undefined,
    );
  });

  afterSuite(
    () => dir,
    async () => {
      for (const a of attackers) await a.stop().catch(() => undefined);
      await cluster?.stopAll();
    },
  );

  const peersOf = () => cluster.manifest.nodes.slice(0, 3).map((n) => `${n.peerId}@${n.p2p}`);
  const validatorIds = () => cluster.manifest.nodes.map((n) => n.peerId);

  it('refuses a libp2p peer that is not in genesis', async () => {
    const outsider = await createLibp2pNetwork({
      seed: new Uint8Array(32).fill(201),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      peers: peersOf(),
      validators: validatorIds(),
      allowNonValidators: true,
    });
    attackers.push(outsider);
    let received = 0;
    outsider.onMessage(() => received++);
    await outsider.start();
    await new Promise((r) => setTimeout(r, 4000));
    expect(outsider.peers()).toEqual([]);
    expect(received).toBe(0);
    const status = await cluster.clients[0]?.status();
    expect(status?.peers).toBe(2);
  });

  it('catches a validator key that equivocates; survives garbage, oversized frames and bad signatures from it', async () => {
    const key = await loadKey(`${cluster.manifest.nodes[3]?.home}/keys/ed25519.json`);
    const attacker = await createLibp2pNetwork({
      seed: key.secretKey,
      listen: [cluster.manifest.nodes[3]?.p2p as string],
      peers: peersOf(),
      validators: validatorIds(),
      maxFrameBytes: { consensus: 4 * 1024 * 1024, tx: 4 * 1024 * 1024, sync: 64 * 1024 * 1024 },
    });
    attackers.push(attacker);
    await attacker.start();
    await waitFor(
      'attacker connected',
      async () => (attacker.peers().length >= 3 ? true : undefined),
      30_000,
    );
    const [h0] = await heights(cluster, [0]);
    // First, with its real key: two different prevotes for one round — equivocation. Every honest
    // node keeps verifiable evidence against validator 3, and it verifies offline.
    for (const fill of [1, 2])
      attacker.broadcast(
        'consensus',
        sealEnvelope(
          tendermintCodec,
          { type: 'prevote', height: (h0 as number) + 1, round: 50, id: new Uint8Array(32).fill(fill) },
          'e2e',
          3,
          key.secretKey,
        ).bytes,
      );
    const items = await waitFor('evidence on node 0', async () => {
      const r = (await cluster.clients[0]?.get('/evidence')) as { evidence: Array<{ validator: number }> };
      return r.evidence.length > 0 ? r.evidence : undefined;
    });
    expect(items.map((e) => e.validator)).toEqual([3]);
    const evidenceFile = join(cluster.manifest.nodes[0]?.home as string, 'evidence.json');
    writeFileSync(evidenceFile, JSON.stringify(items[0]));
    const verified = await runVerity([
      'evidence',
      'verify',
      evidenceFile,
      '--genesis',
      join(cluster.manifest.nodes[0]?.home as string, 'genesis.json'),
    ]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const wrongKey = ed25519.keygen(new Uint8Array(32).fill(9));
    const vote = {
      type: 'prevote' as const,
      height: (h0 as number) + 1,
      round: 0,
      id: new Uint8Array(32).fill(3),
    };
    for (let i = 0; i < 20; i++) {
      attacker.broadcast('consensus', new Uint8Array(500).fill(i)); // garbage
      attacker.broadcast(
        'consensus',
        sealEnvelope(tendermintCodec, vote, 'e2e', 3, wrongKey.secretKey).bytes,
      ); // bad signature
      attacker.broadcast('consensus', encodeEnvelope(new Uint8Array([0xc0]), 3, new Uint8Array(64))); // undecodable inside
      attacker.broadcast('tx', new Uint8Array(300).fill(7)); // not a transaction
      attacker.broadcast('sync', new Uint8Array([0xff, 0x01])); // not a sync message
    }
    attacker.broadcast('consensus', new Uint8Array(2 * 1024 * 1024)); // over the 1 MiB cap
    await waitFor('honest nodes keep committing', async () => {
      const h = await heights(cluster, [0, 1, 2]);
      return h.every((x) => x >= (h0 as number) + 3) ? true : undefined;
    });
    for (const c of cluster.clients.slice(0, 3)) expect((await c.get('/health')).ok).toBe(true);
    // Bad input over the RPC: typed 4xx errors, and the node keeps serving.
    const rpc = cluster.manifest.nodes[0]?.rpc as string;
    const post = (body: string) =>
      fetch(`${rpc}/tx`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    for (const [res, status, code] of [
      [await post('{nope'), 400, 'MALFORMED_JSON'],
      [await post(JSON.stringify({ tx: 'ff'.repeat(300_000) })), 413, 'BODY_TOO_LARGE'],
      [await post(JSON.stringify({ tx: 'c0' })), 400, 'TX_MALFORMED'],
    ] as const) {
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect((await cluster.clients[0]?.get('/health'))?.ok).toBe(true);
    // The attacker was scored down and cut off: every honest node rejected its messages and
    // penalized it, and at least one banned it (disconnected for the cool-down).
    let bans = 0;
    for (const n of cluster.manifest.nodes.slice(0, 3)) {
      const metrics = await fetch(`${n.rpc}/metrics`).then((r) => r.text());
      const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
      expect(value('verity_rejected_messages_total'), n.name).toBeGreaterThan(0);
      expect(value('verity_peer_penalties_total'), n.name).toBeGreaterThan(0);
      bans += value('verity_peer_bans_total');
    }
    expect(bans).toBeGreaterThan(0);
  });
});
