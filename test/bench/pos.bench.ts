/**
 * npm run bench:pos — Proof of Stake's figures, in virtual time on the engine harness
 * (test/helpers/engine-cluster.ts: the real engine, real BLS votes and aggregates, a network of
 * fixed latency; no ledger execution), so they are exact for the protocol, not for this machine:
 *
 *  1. Slots to finality in the common case: from the slot a block is proposed in to its commit on
 *     every node, against Gasper's two-epoch expectation (a checkpoint justified during the next
 *     epoch, finalized during the one after).
 *  2. Blocks produced vs finalized during a partition (no side holds 2/3 of the stake) and after
 *     it heals: the chain keeps growing, finality stops, then catches up.
 *  3. Messages and bytes per slot as n grows, with BLS aggregation (each validator attests once an
 *     epoch; blocks carry aggregates, not one signature per validator).
 *  4. The inactivity leak: two of five validators crash (60% of the stake left, short of 2/3); how
 *     many epochs until finality resumes, how often it finalizes after, and blocks finalized in
 *     ten minutes — beside the same run with the leak off.
 */

import type { PosEngine } from '../../consensus/pos/engine.ts';
import { type PosCertificate, pos, posCertificateScheme } from '../../consensus/pos/index.ts';
import type { PosMessage } from '../../consensus/pos/messages.ts';
import { decodePosData } from '../../consensus/pos/rules.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

const SLOT_MS = 1000;
const SLOTS_PER_EPOCH = 8;
const LATENCY_MS = 50;
const params = { slotMs: SLOT_MS, slotsPerEpoch: SLOTS_PER_EPOCH };

function cluster(n: number, leakAfter?: number) {
  return new EngineCluster<PosMessage>({
    engine: pos,
    n,
    params: leakAfter === undefined ? params : { ...params, leakAfter },
    latencyMs: LATENCY_MS,
    recordOutputs: true,
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor(s.length / 2)] as number);
}

// 1. Slots to finality.
{
  const n = 4;
  const c = cluster(n);
  c.start();
  c.run(120_000);
  const lastCommit = new Map<string, number>();
  for (const k of c.commits) lastCommit.set(k.hash, Math.max(lastCommit.get(k.hash) ?? 0, k.time));
  const delays: number[] = [];
  for (let i = 0; i < c.node(0).chain.length; i++) {
    const hash = c.node(0).chain[i] as string;
    const cert = c.node(0).certificates[i] as unknown as { headers: Array<{ engineData: Uint8Array }> };
    const slot = decodePosData((cert.headers[0] as { engineData: Uint8Array }).engineData).slot;
    const at = lastCommit.get(hash);
    if (at !== undefined) delays.push(at / SLOT_MS - slot);
  }
  console.log(
    `slots to finality (n=${n}, ${SLOTS_PER_EPOCH}-slot epochs, ${LATENCY_MS} ms latency, ${SLOT_MS} ms slots): ` +
      `median ${median(delays).toFixed(1)}, min ${Math.min(...delays).toFixed(1)}, max ${Math.max(...delays).toFixed(1)} over ${delays.length} blocks ` +
      `(Gasper's common case: ${SLOTS_PER_EPOCH}–${2 * SLOTS_PER_EPOCH} slots after the block's epoch ends, i.e. ${SLOTS_PER_EPOCH + 1}–${3 * SLOTS_PER_EPOCH})`,
  );
}

// 2. A partition with no side holding 2/3 of the stake, then healing.
{
  const n = 4;
  const c = cluster(n);
  const side = (i: number) => (i < 2 ? 0 : 1);
  let partitioned = false;
  c.route = (from: number, to: number) => (partitioned && side(from) !== side(to) ? null : LATENCY_MS);
  c.start();
  const row = (label: string) =>
    console.log(
      `  ${label.padEnd(22)} heads ${[0, 1, 2, 3].map((i) => c.node(i).engine.status().height).join('/')}, finalized ${[0, 1, 2, 3].map((i) => c.height(i)).join('/')}`,
    );
  c.run(30_000);
  row('before (30 s)');
  partitioned = true;
  c.run(90_000);
  row('partition (60 s)');
  partitioned = false;
  c.run(150_000);
  row('healed (60 s)');
}

// 3. Messages and bytes per slot vs n.
for (const n of [4, 8, 16, 32]) {
  const c = cluster(n);
  c.start();
  const slots = 64;
  c.run(slots * SLOT_MS);
  let messages = 0;
  let bytes = 0;
  let relayed = 0;
  for (let i = 0; i < n; i++)
    for (const o of c.node(i).outputs) {
      if (o.kind !== 'broadcast' && o.kind !== 'send' && o.kind !== 'relay') continue;
      const copies = o.kind === 'send' || (o.kind === 'relay' && o.to !== undefined) ? 1 : n - 1;
      messages += copies;
      if (o.kind === 'relay') relayed += copies;
      bytes += copies * pos.codec.encode(o.msg).length;
    }
  const certBytes = c
    .node(0)
    .certificates.map((k) => rlpEncode(posCertificateScheme.encodePayload(k as PosCertificate)).length);
  console.log(
    `n=${String(n).padStart(2)}: ${(messages / slots).toFixed(1)} messages/slot (${((100 * relayed) / messages).toFixed(0)}% relays), ${(bytes / slots / 1024).toFixed(1)} KiB/slot, finalized ${c.height(0)} blocks in ${slots} slots; certificate median ${median(certBytes)} B`,
  );
}

// 4. The inactivity leak: 3 of 5 validators online.
for (const leakAfter of [4, 0]) {
  const c = cluster(5, leakAfter);
  const epochMs = SLOTS_PER_EPOCH * SLOT_MS;
  const crashAt = 4 * epochMs;
  c.start();
  c.run(crashAt);
  c.crash(3);
  c.crash(4);
  const before = c.height(0);
  const finalized = () => (c.node(0).engine as unknown as PosEngine).checkpoints().finalized.slot;
  const at = finalized();
  const moves: number[] = []; // epochs after the crash at which node 0's finalized checkpoint moved
  let last = at;
  for (let e = 1; e <= 75; e++) {
    c.run(crashAt + e * epochMs);
    if (finalized() !== last) moves.push(e);
    last = finalized();
  }
  const gaps = moves.slice(1).map((m, i) => m - (moves[i] as number));
  console.log(
    `leak ${leakAfter === 0 ? 'off' : `after ${leakAfter} epochs`}: 3 of 5 online for 75 epochs (${(75 * epochMs) / 60_000} min): ` +
      (moves.length === 0
        ? `finality never moved past slot ${at}; finalized ${c.height(0) - before} blocks`
        : `finality moved ${moves.length} times — first ${moves[0]} epochs after the crash (catching up on the votes before it counts as one: ${moves.filter((m) => m <= 2).length}), then every ${median(gaps)} epochs (median); finalized ${c.height(0) - before} blocks`),
  );
}
