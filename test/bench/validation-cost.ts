/**
 * What a follower spends per committed transaction re-verifying the leader's work, against what it
 * would spend trusting the leader (used by cft.bench.ts, `--validation-only`).
 *
 * A crash-fault engine's fault model lets a follower trust that the leader checked every
 * transaction's signature. Verity's followers do not: every node verifies every transaction once
 * (ledger/tx.ts `verifyTransaction`, remembered by id — at tx-gossip admission, or in the block if
 * the transaction arrived only there). This measures that cost on the ledger path a follower runs
 * for a proposed block — decode the block, `ChainStore.validateAndExecute` (decode and check every
 * transaction, execute them on the parent's state, check the header's roots), then `commit` (in
 * memory: the LevelDB write and fsync of a real node are left out, so the share shown is an upper
 * bound of the share of the ledger work):
 *   verify — the block's transactions were never seen: every signature is checked (ed25519 on
 *            OpenSSL), as for a transaction that reaches a follower only inside the block;
 *   trust  — the same path for a block whose transactions' ids are in the verified-id cache
 *            (checked, untimed, beforehand): the signature check is a map lookup, which is what a
 *            follower that trusted the leader would pay (it would skip even that lookup).
 * Production code is not changed: the trust path is what the cache already does for transactions a
 * node admitted through gossip.
 *
 * Each sample is the two paths over distinct blocks of equal shape (fresh transactions, so that the
 * verify path's ids are not cached), each on a fresh in-memory ChainStore, in alternating order
 * (so neither path always runs warm), and a bare ed25519 check of the same signatures for
 * reference; samples are repeated and medians reported. A sample runs at least 256 transactions
 * (several blocks when blocks are small). Times are this process's CPU time, not wall time: on a
 * shared machine, time spent running other processes is not counted.
 */
import { utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { decodeBlock, encodeBlock } from '../../ledger/block.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import {
  type EncodedTransaction,
  signingBytes,
  signTransaction,
  verifyTransaction,
} from '../../ledger/tx.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { makeTestChain, quorumCertificate, type TestKey } from '../helpers/chain.ts';
import { benchValue, percentile } from './etcd-reference.ts';

/** Distinct senders (each sends blockTxs / SENDERS transactions per block, consecutive nonces). */
const SENDERS = 64;
/** Transactions per sample at least: small blocks are run several times per sample. */
const SAMPLE_TXS = 256;

export interface ValidationCost {
  readonly blockTxs: number;
  readonly samples: number;
  /** Median µs per transaction: decode + validate (signatures checked) + execute. */
  readonly verifyUsPerTx: number;
  /** Median µs per transaction: the same with the signatures already known good. */
  readonly trustUsPerTx: number;
  /** Median µs per transaction of the commit that follows (in memory), either path. */
  readonly commitUsPerTx: number;
  /** Median over samples of (verify − trust): the signature checks per transaction. */
  readonly verificationUsPerTx: number;
  /** Its interquartile range over the samples: [p25, p75]. */
  readonly verificationIqrUs: readonly [number, number];
  /** One ed25519 verification on its own (node:crypto), median µs. */
  readonly ed25519VerifyUs: number;
  /** verify ÷ trust, of validate + execute. */
  readonly ratio: number;
  /** verificationUs ÷ (verify + commit): the signatures' share of the follower's ledger work. */
  readonly verificationShare: number;
}

const chain = makeTestChain({
  label: 'bench-validation',
  engine: 'multipaxos',
  validators: 3,
  accounts: SENDERS,
  balance: 10n ** 15n,
});
const OPTS = { schemes: ALL_CERTIFICATE_SCHEMES };
let serial = 0;

function signBlock(count: number): EncodedTransaction[] {
  const block = serial++;
  return Array.from({ length: count }, (_, i) => {
    const from = chain.accounts[i % SENDERS] as TestKey;
    return signTransaction(
      {
        chainId: chain.genesis.chainId,
        sender: from.publicKey,
        nonce: Math.floor(i / SENDERS),
        op: { type: 'put', key: utf8(`bench/validation/${block}/${i}`), value: benchValue(block, i) },
      },
      from.secretKey,
    );
  });
}

interface Prepared {
  readonly bytes: Uint8Array;
  readonly txs: readonly EncodedTransaction[];
  readonly certificate: ReturnType<typeof quorumCertificate>;
}

async function prepare(leader: ChainStore, count: number): Promise<Prepared> {
  const txs = signBlock(count);
  const executed = await leader.propose({
    txs,
    time: { ms: leader.head.time.ms + 1000, logical: 0 },
    proposer: (chain.validators[0] as TestKey).address,
    engineData: new Uint8Array(0),
  });
  return {
    bytes: encodeBlock(executed.block),
    txs,
    certificate: quorumCertificate(chain, executed.block.header.height, executed.hash),
  };
}

/** A follower's ledger work on one block, on a fresh store: ms to validate, ms to commit. */
async function follow(p: Prepared): Promise<{ validateMs: number; commitMs: number }> {
  const follower = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
  const t0 = cpuMs();
  const block = decodeBlock(p.bytes);
  const executed = await follower.validateAndExecute(block);
  const t1 = cpuMs();
  await follower.commit(executed, p.certificate);
  const t2 = cpuMs();
  return { validateMs: t1 - t0, commitMs: t2 - t1 };
}

/**
 * This process's CPU time, ms (user + system; getrusage's total is exact): time the machine gives
 * to other processes while a sample runs is not counted, so a busy machine skews less.
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

export async function measureValidationCost(
  blockTxs: number,
  samples: number,
  log: (line: string) => void = () => {},
): Promise<ValidationCost> {
  const leader = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
  const blocksPerSample = Math.max(1, Math.ceil(SAMPLE_TXS / blockTxs));
  const txsPerSample = blocksPerSample * blockTxs;
  const verify: number[] = [];
  const trust: number[] = [];
  const commit: number[] = [];
  const direct: number[] = [];
  for (let s = -1; s < samples; s++) {
    // s = −1 warms up (JIT, key caches) and is not kept.
    let v = 0;
    let t = 0;
    let c = 0;
    let d = 0;
    for (let b = 0; b < blocksPerSample; b++) {
      const fresh = await prepare(leader, blockTxs);
      const known = await prepare(leader, blockTxs);
      for (const etx of known.txs) verifyTransaction(etx, chain.genesis.chainId);
      const order = (s + b) % 2 === 0 ? ['verify', 'trust'] : ['trust', 'verify'];
      for (const path of order) {
        const r = await follow(path === 'verify' ? fresh : known);
        if (path === 'verify') v += r.validateMs;
        else t += r.validateMs;
        c += r.commitMs / 2;
      }
      // One ed25519 verification on its own, for reference (the verified-id cache is not involved).
      const items = fresh.txs.map((e) => ({ sig: e.tx.signature, msg: signingBytes(e.tx), pk: e.tx.sender }));
      const t0 = cpuMs();
      for (const it of items) if (!ed25519.verify(it.sig, it.msg, it.pk)) throw new Error('bad signature');
      d += cpuMs() - t0;
    }
    if (s < 0) continue;
    verify.push((v * 1000) / txsPerSample);
    trust.push((t * 1000) / txsPerSample);
    commit.push((c * 1000) / txsPerSample);
    direct.push((d * 1000) / txsPerSample);
    log(
      `  validation, ${blockTxs} tx/block, sample ${s + 1}/${samples}: verify ${verify.at(-1)?.toFixed(1)} µs/tx, trust ${trust.at(-1)?.toFixed(1)} µs/tx`,
    );
  }
  const verifyUsPerTx = median(verify);
  const trustUsPerTx = median(trust);
  const commitUsPerTx = median(commit);
  const differences = verify.map((v, i) => v - (trust[i] as number)).sort((x, y) => x - y);
  const verificationUsPerTx = median(differences);
  return {
    blockTxs,
    samples,
    verifyUsPerTx,
    trustUsPerTx,
    commitUsPerTx,
    verificationUsPerTx,
    verificationIqrUs: [percentile(differences, 0.25), percentile(differences, 0.75)],
    ed25519VerifyUs: median(direct),
    ratio: verifyUsPerTx / trustUsPerTx,
    verificationShare: verificationUsPerTx / (verifyUsPerTx + commitUsPerTx),
  };
}
