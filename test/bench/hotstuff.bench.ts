/**
 * npm run bench:hotstuff — what HotStuff's BLS certificates buy, measured:
 *  1. consensus messages and bytes per committed block at n = 4, 16, 64 in the simulator (real
 *     runtime and ledger, no faults), HotStuff next to PBFT when the registry's pbft engine runs
 *     (else Tendermint — the output says which). Counted at the engines' outputs: what each asks
 *     the network to carry (broadcast = n − 1 messages, send = 1, relay = n − 1), each in its
 *     signed envelope; runtime traffic (status, block sync, transaction gossip) is left out;
 *  2. QC size and verification time against the number of signers (4/16/64/128), aggregate
 *     (bitmap + one aggregated signature) vs threshold (one signature under the group key), with
 *     the leader's cost to assemble one, and the commit certificate a light client checks;
 *  3. commit latency in message delays for the 2-chain and 3-chain rules, on the in-memory
 *     cluster with a fixed 10 ms link latency (proposal sent → block committed, per node).
 *   --quick   shorter runs (a quick look; the figures quoted come from full runs)
 */

import { hotstuff } from '../../consensus/hotstuff/index.ts';
import {
  assembleAggregateQc,
  assembleThresholdQc,
  encodeQc,
  type QcTrust,
  qcPairingInput,
  voteMessage,
} from '../../consensus/hotstuff/qc.ts';
import { getEngine } from '../../consensus/registry.ts';
import type { ConsensusEngine, EngineModule, EngineOutput } from '../../consensus/types.ts';
import { bls } from '../../crypto/bls/index.ts';
import { utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { encodeCertificate } from '../../ledger/certificate.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { peerIdFromEd25519, ValidatorSet } from '../../ledger/validators.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import { Cluster } from '../helpers/hotstuff-cluster.ts';
import { fmt, header, table, timeOnce } from './harness.ts';

const quick = process.argv.includes('--quick');
const ENVELOPE_OVERHEAD = 72; // RLP([message, index, 64-byte ed25519 signature]) framing

header('Verity HotStuff benchmark');

// 1. Messages and bytes per committed block ---------------------------------------------------

/** Wraps an engine module to count what its engines ask the network to carry. */
function counting(module: EngineModule<unknown>, n: number) {
  const totals = { messages: 0, bytes: 0 };
  const wrapped: EngineModule<unknown> = {
    ...module,
    create(ctx) {
      const inner = module.create(ctx);
      const engine: ConsensusEngine<unknown> = {
        status: () => inner.status(),
        step(input) {
          const out = inner.step(input) as EngineOutput<unknown>[];
          for (const o of out) {
            if (o.kind !== 'broadcast' && o.kind !== 'send' && o.kind !== 'relay') continue;
            if (o.kind === 'send' && o.to === ctx.self) continue;
            const copies = o.kind === 'send' ? 1 : n - 1;
            totals.messages += copies;
            totals.bytes += copies * (module.codec.encode(o.msg).length + ENVELOPE_OVERHEAD);
          }
          return out;
        },
      };
      return engine;
    },
  };
  return { wrapped, totals };
}

async function perBlock(module: EngineModule<unknown>, params: EngineParams, n: number) {
  const { wrapped, totals } = counting(module, n);
  const r = await runSimulation({
    engine: wrapped,
    engineParams: params,
    nodes: n,
    byzantine: 0,
    byzantineMode: 'twins',
    faults: new Set(),
    seed: `bench-${module.name}-${n}`,
    durationMs: quick ? 4000 : n >= 64 ? 8000 : 15_000,
    txs: quick ? 40 : 200,
    livenessBlocks: 1,
  });
  const blocks = Math.max(1, r.committedHeight);
  return {
    blocks: r.committedHeight,
    txs: r.committedTxs,
    msgs: totals.messages / blocks,
    bytes: totals.bytes / blocks,
    wall: r.wallMs,
    ok: r.safe && r.live,
  };
}

async function usable(name: string): Promise<EngineModule<unknown> | undefined> {
  const m = getEngine(name);
  if (m === undefined) return undefined;
  try {
    m.parseParams({});
    const r = await runSimulation({
      engine: m,
      nodes: 4,
      byzantine: 0,
      byzantineMode: 'twins',
      faults: new Set(),
      seed: 'bench-probe',
      durationMs: 3000,
      txs: 8,
    });
    return r.committedHeight > 0 && r.safe ? m : undefined;
  } catch {
    return undefined;
  }
}

{
  const pbft = await usable('pbft');
  const other = pbft ?? (getEngine('tendermint') as EngineModule<unknown>);
  console.log(
    `## Consensus traffic per committed block (simulator, no faults; vs ${other.name}${pbft ? '' : ' — pbft is not usable in this build'})`,
  );
  const rows: Array<Record<string, string | number>> = [];
  for (const n of quick ? [4, 16] : [4, 16, 64]) {
    const configs: Array<[string, EngineModule<unknown>, EngineParams]> = [
      ['hotstuff aggregate, 2-chain', hotstuff as EngineModule<unknown>, { qc: 'aggregate', chain: 2 }],
      ['hotstuff threshold, 2-chain', hotstuff as EngineModule<unknown>, { qc: 'threshold', chain: 2 }],
      [other.name, other, {}],
    ];
    for (const [label, module, params] of configs) {
      const r = await perBlock(module, params, n);
      rows.push({
        n,
        engine: label,
        blocks: r.blocks,
        'msgs/block': fmt(r.msgs, 0),
        'msgs/block/n': fmt(r.msgs / n, 1),
        'KiB/block': fmt(r.bytes / 1024, 1),
        'wall s': fmt(r.wall / 1000, 1),
        ok: r.ok ? 'yes' : 'NO',
      });
    }
  }
  table(rows);
}

// 2. QC size and verification time ------------------------------------------------------------

function validatorSet(n: number): { set: ValidatorSet; secrets: Uint8Array[] } {
  const secrets: Uint8Array[] = [];
  const set = new ValidatorSet(
    Array.from({ length: n }, (_, i) => {
      const b = bls.keygen(sha256(utf8(`bench-hs-bls-${i}`)));
      const e = ed25519.keygen(sha256(utf8(`bench-hs-ed-${i}`)));
      secrets.push(b.secretKey);
      return {
        name: `v${i}`,
        publicKey: e.publicKey,
        blsPublicKey: b.publicKey,
        blsPop: new Uint8Array(96),
        peerId: peerIdFromEd25519(e.publicKey),
        power: 1,
      };
    }),
  );
  return { set, secrets };
}

function averageMs(fn: () => unknown, runs: number): number {
  fn();
  const start = performance.now();
  for (let i = 0; i < runs; i++) fn();
  return (performance.now() - start) / runs;
}

{
  console.log(`## QC size and verification (BLS backend: ${bls.backend}); signers = ⌊2n/3⌋ + 1`);
  const rows: Array<Record<string, string | number>> = [];
  const hash = sha256(utf8('block'));
  for (const n of quick ? [4, 16, 64] : [4, 16, 64, 128]) {
    const { set, secrets } = validatorSet(n);
    const t = Math.floor((2 * n) / 3) + 1;
    const message = voteMessage('bench', 7, hash);
    const signers = Array.from({ length: t }, (_, i) => i);
    const votes = signers.map((i) => ({
      validator: i,
      signature: bls.sign(secrets[i] as Uint8Array, message),
    }));
    const runs = quick ? 3 : 10;
    // Aggregate.
    const aTrust: QcTrust = { chainId: 'bench', validators: set, mode: 'aggregate' };
    const aQc = assembleAggregateQc(7, hash, votes, n);
    // What verifyQc does (uncached): aggregate the signers' keys, one pairing check.
    const aVerify = averageMs(() => {
      const input = qcPairingInput(aQc, aTrust);
      if (typeof input === 'string' || !bls.verify(input.publicKey, input.message, input.signature))
        throw new Error('aggregate QC does not verify');
    }, runs);
    const aVotes = averageMs(() => {
      for (const v of votes)
        bls.verify(set.at(v.validator)?.blsPublicKey as Uint8Array, message, v.signature);
    }, 1);
    const aForm = averageMs(() => assembleAggregateQc(7, hash, votes, n), runs);
    // Threshold.
    const deal = bls.threshold.deal(t, n, sha256(utf8(`bench-deal-${n}`)));
    const shares = signers.map((i) => ({
      validator: i,
      signature: bls.threshold.signShare(deal.shares[i] as (typeof deal.shares)[number], message).signature,
    }));
    const tTrust: QcTrust = {
      chainId: 'bench',
      validators: set,
      mode: 'threshold',
      groupPublicKey: deal.groupPublicKey,
    };
    const tQc = assembleThresholdQc(7, hash, shares, t);
    const tVerify = averageMs(() => {
      const input = qcPairingInput(tQc, tTrust);
      if (typeof input === 'string' || !bls.verify(input.publicKey, input.message, input.signature))
        throw new Error('threshold QC does not verify');
    }, runs);
    const tShares = averageMs(() => {
      for (const s of shares)
        bls.threshold.verifyShare(deal.shares[s.validator]?.publicKey as Uint8Array, message, {
          index: s.validator + 1,
          signature: s.signature,
        });
    }, 1);
    const tForm = averageMs(() => assembleThresholdQc(7, hash, shares, t), quick ? 1 : 3);
    rows.push(
      {
        n,
        signers: t,
        mode: 'aggregate',
        'QC bytes': encodeQc(aQc).length,
        'verify QC ms': fmt(aVerify, 2),
        'leader: verify votes ms': fmt(aVotes, 1),
        'leader: assemble ms': fmt(aForm, 2),
      },
      {
        n,
        signers: t,
        mode: 'threshold',
        'QC bytes': encodeQc(tQc).length,
        'verify QC ms': fmt(tVerify, 2),
        'leader: verify votes ms': fmt(tShares, 1),
        'leader: assemble ms': fmt(tForm, 2),
      },
    );
  }
  table(rows);
}

// Commit certificates as a light client sees them.
{
  console.log('## Commit certificates (n = 4, in-memory cluster)');
  const rows: Array<Record<string, string | number>> = [];
  for (const qc of ['aggregate', 'threshold'] as const) {
    for (const chain of [2, 3] as const) {
      const c = new Cluster({ n: 4, params: { qc, chain, emptyBlockIntervalMs: 0 } });
      c.start();
      c.run(300);
      const commit = c.commits.find((x) => x.node === 0 && x.height === 5);
      if (commit === undefined) continue;
      const scheme = ALL_CERTIFICATE_SCHEMES.get(commit.certificate.kind);
      const bytes = encodeCertificate(commit.certificate, ALL_CERTIFICATE_SCHEMES);
      const ms = averageMs(
        () => {
          const r = scheme?.verify(commit.certificate, c.trust);
          if (!r?.ok) throw new Error('certificate does not verify');
        },
        quick ? 3 : 10,
      );
      rows.push({
        kind: commit.certificate.kind,
        chain,
        'cert bytes': bytes.length,
        'verify ms (one multi-pairing)': fmt(ms, 2),
      });
    }
  }
  table(rows);
}

// 3. Commit latency in message delays ---------------------------------------------------------

{
  const delta = 10;
  console.log(`## Commit latency (in-memory cluster, n = 4, fixed link latency ${delta} ms, busy chain)`);
  const rows: Array<Record<string, string | number>> = [];
  for (const chain of [2, 3] as const) {
    const c = new Cluster({
      n: 4,
      params: { qc: 'aggregate', chain, emptyBlockIntervalMs: 0 },
      latencyMs: delta,
    });
    c.start();
    let ms = 0;
    ms = await timeOnce(() => c.run(quick ? 400 : 2000));
    const proposedAt = new Map<string, number>();
    for (const s of c.sent)
      if (s.msg.type === 'proposal' && !proposedAt.has(Buffer.from(s.msg.hash).toString('hex')))
        proposedAt.set(Buffer.from(s.msg.hash).toString('hex'), s.time);
    const lat = c.commits
      .map((x) => x.time - (proposedAt.get(x.hash) ?? x.time))
      .filter((x) => x > 0)
      .sort((a, b) => a - b);
    const first = lat[0] ?? 0;
    const mean = lat.reduce((s, x) => s + x, 0) / Math.max(1, lat.length);
    const height = Math.max(...c.nodes.map((_, i) => c.height(i)));
    rows.push({
      rule: `${chain}-chain`,
      'first committer (δ)': fmt(first / delta, 1),
      'mean over nodes (δ)': fmt(mean / delta, 2),
      'mean ms': fmt(mean, 1),
      'blocks/s (simulated)': fmt(height / ((quick ? 400 : 2000) / 1000), 0),
      'wall ms': fmt(ms, 0),
    });
  }
  table(rows);
  console.log(
    'A block is proposed (1 δ), voted to the next leader (2 δ), whose proposal carries its QC (3 δ);\n' +
      'each further QC in the chain costs 2 δ: the 2-chain commits at 4 δ at the leader that forms\n' +
      'the second QC and at 5 δ everywhere else; the 3-chain at 6 δ / 7 δ.',
  );
}
