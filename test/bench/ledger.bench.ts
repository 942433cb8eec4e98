/**
 * npm run bench:ledger — a follower's ledger work per committed transaction, on the store a node
 * runs (LevelDB with fsync behind the node's read cache), by phase, without the network or
 * consensus around it: the steps of bench:node's profile that belong to the ledger, measured
 * steadily enough to compare one change with the next.
 *
 * A proposer (in memory, untimed) builds a chain of blocks of transfers; the follower then, block
 * after block on one growing store: takes the block's transactions in as gossip frames (the node's
 * TxGossip and Mempool: decoded, checked against the pool, admitted), decodes the block as it
 * arrives in a consensus message, validates and executes it with its transactions known from the
 * mempool (as a node's block pipeline does), commits it, and updates the mempool. Times are this
 * process's user CPU time (LevelDB's own threads included), medians over the blocks after a
 * warm-up; system time (mostly fsync) is reported apart, and so are the operations and bytes
 * written. Signature verification is not in them (bench:crypto, bench:node): the gossip's verifier
 * here answers every check valid at once (the transactions are genuinely signed).
 *
 * LevelDB merges its tables in the background, in bursts a median over blocks misses: the mean user
 * CPU over the whole run counts them, and LevelDB's own figures say what its flushes and merges
 * wrote per byte that came in (its write amplification), which grows with the store (try
 * --blocks 1000; what is still in memory or level 0 at the end is not merged yet).
 *   --blocks N (default 40)  --txs N per block (default 2000)  --quick (10 blocks)
 *   --write-buffer-mb N  LevelDB's in-memory table (default: the node's chain store's)
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchVerifier } from '../../crypto/signature-batch.ts';
import { decodeBlock, encodeBlock } from '../../ledger/block.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { isStateKey } from '../../ledger/chain-layout.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { CachingKvStore, type KvStore, MemoryKvStore } from '../../ledger/kv.ts';
import type { LedgerState } from '../../ledger/state.ts';
import { type EncodedTransaction, signTransaction } from '../../ledger/tx.ts';
import { CHAIN_STORE_WRITE_BUFFER_BYTES } from '../../src/node/chain-store-options.ts';
import { Mempool } from '../../src/runtime/mempool.ts';
import type { Transport } from '../../src/runtime/ports.ts';
import { TxGossip } from '../../src/runtime/tx-gossip.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { LevelKvStore } from '../../src/storage/level-kv.ts';
import { makeTestChain, quorumCertificate, type TestKey } from '../helpers/chain.ts';
import { seededBytes } from '../helpers/seeded.ts';
import { fmt, header, median, table } from './harness.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const quick = process.argv.includes('--quick');
const BLOCKS = arg('blocks', quick ? 10 : 40);
const TXS = arg('txs', 2000);
const WARMUP = Math.min(3, BLOCKS - 1);
const SENDERS = 64;

header('Verity ledger benchmark: a follower validating and committing blocks (LevelDB, fsync)');
console.log(`${BLOCKS} blocks of ${TXS} transfers from ${SENDERS} senders to one address (as bench:node)`);

const chain = makeTestChain({ label: 'bench-ledger', validators: 4, accounts: SENDERS, balance: 10n ** 15n });
const OPTS = { schemes: ALL_CERTIFICATE_SCHEMES };
// Every transfer to one address, as in bench:node: the trie work per block stays small.
const SINK = seededBytes('bench-ledger')(20);

// The chain to follow, built ahead (untimed).
const proposer = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
const blocks: Array<{ bytes: Uint8Array; frames: Uint8Array[]; cert: unknown }> = [];
/** Gossip frames as a peer sends them: up to 512 transactions each (tx-gossip.ts). */
const framesOf = (txs: readonly EncodedTransaction[]) =>
  Array.from({ length: Math.ceil(txs.length / 512) }, (_, i) =>
    rlpEncode(txs.slice(i * 512, (i + 1) * 512).map((t) => t.bytes)),
  );
const nonces = new Array<number>(SENDERS).fill(0);
for (let b = 0; b < BLOCKS; b++) {
  const txs = Array.from({ length: TXS }, (_, i) => {
    const from = chain.accounts[i % SENDERS] as TestKey;
    const nonce = nonces[i % SENDERS] ?? 0;
    nonces[i % SENDERS] = nonce + 1;
    return signTransaction(
      {
        chainId: chain.genesis.chainId,
        sender: from.publicKey,
        nonce,
        op: { type: 'transfer', to: SINK, amount: 1n },
      },
      from.secretKey,
    );
  });
  const executed = await proposer.propose({
    txs,
    time: { ms: proposer.head.time.ms + 1000, logical: 0 },
    proposer: (chain.validators[b % 4] as TestKey).address,
    engineData: new Uint8Array(0),
  });
  const cert = quorumCertificate(chain, executed.block.header.height, executed.hash);
  await proposer.commit(executed, cert);
  // A fresh copy of the bytes: what a peer's message carries (not the proposer's cached encoding).
  blocks.push({ bytes: encodeBlock(executed.block).slice(), frames: framesOf(txs), cert });
}

const dir = await mkdtemp(join(tmpdir(), 'verity-bench-ledger-'));
const writeBufferBytes = arg('write-buffer-mb', CHAIN_STORE_WRITE_BUFFER_BYTES / 2 ** 20) * 2 ** 20;
const level = await LevelKvStore.open(join(dir, 'chain'), { sync: true, writeBufferBytes });
/** Counts what reaches LevelDB: operations and key + value bytes (deterministic, unlike time). */
const written = { ops: 0, bytes: 0 };
const counted: KvStore = {
  get: (key) => level.get(key),
  iterate: (prefix, opts) => level.iterate(prefix, opts),
  close: () => level.close(),
  batch: (ops) => {
    written.ops += ops.length;
    for (const op of ops) written.bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    return level.batch(ops);
  },
};
const follower = await ChainStore.open(new CachingKvStore(counted, 200_000, isStateKey), chain.genesis, OPTS);
const writtenAtOpen = { ...written };
// User CPU only: the system time of a commit is mostly its fsync, which varies with the disk
// (and on a VM, a lot) and is the same for any change to the code; it is reported apart.
const cpuUs = () => process.cpuUsage().user;
const systemAtStart = process.cpuUsage().system;
const userAtStart = process.cpuUsage().user;

// The node's intake: its mempool over the committed head's state (cached until the next commit, as
// the runtime caches it), and its gossip, fed one peer validator's frames.
let headState: LedgerState | undefined;
const mempool = new Mempool(
  async (address, key) => {
    headState ??= await follower.stateAt();
    return headState.getAccount(address, key);
  },
  // Room for a whole block's transactions, whatever --txs says.
  { maxTxs: Math.max(TXS, 10_000), maxPerSender: TXS, futureNonceWindow: Math.ceil(TXS / SENDERS) + 1 },
);
const intake: Promise<void>[] = [];
const allValid: BatchVerifier = { verifyMany: async (checks) => checks.map(() => true) };
const nowhere: Transport = {
  self: 'follower',
  send: () => {},
  broadcast: () => {},
  onMessage: () => {},
  peers: () => [],
  penalize: (peer, reason) => {
    throw new Error(`bench: ${peer} penalized: ${reason}`);
  },
};
const gossip = new TxGossip({
  chainId: chain.genesis.chainId,
  mempool,
  transport: nowhere,
  timers: { set: () => {}, cancel: () => {}, cancelAll: () => {} },
  verifier: allValid,
  counters: { rejected: 0, txGossipNoRoom: 0 },
  send: () => {},
  sendTo: () => {},
  isValidator: () => true,
  selfIsValidator: () => true,
  enqueue: (fn) => fn(),
  enqueueIntake: (fn) => {
    intake.push(Promise.resolve(fn()));
  },
  fault: (e) => {
    throw e;
  },
});

const phases = {
  gossip: [] as number[],
  decode: [] as number[],
  validate: [] as number[],
  commit: [] as number[],
  'mempool update': [] as number[],
};
for (const [b, { bytes, frames, cert }] of blocks.entries()) {
  const t0 = cpuUs();
  for (const frame of frames) gossip.receive('peer', frame);
  // Every frame's verification settles and its admission is queued; then the admissions run.
  while (intake.length > 0) {
    await Promise.all(intake.splice(0));
    await gossip.settled();
  }
  const t1 = cpuUs();
  if (mempool.size !== TXS) throw new Error(`bench: ${mempool.size} of ${TXS} transactions admitted`);
  const block = decodeBlock(bytes);
  const t2 = cpuUs();
  const executed = await follower.validateAndExecute(block, {
    known: (bytes) => mempool.pendingWithBytes(bytes),
  });
  const t3 = cpuUs();
  await follower.commit(executed, cert as never);
  headState = undefined;
  const t4 = cpuUs();
  await mempool.update(executed.txs);
  const t5 = cpuUs();
  if (mempool.size !== 0) throw new Error(`bench: ${mempool.size} transactions left pending`);
  if (b < WARMUP) continue;
  phases.gossip.push((t1 - t0) / TXS);
  phases.decode.push((t2 - t1) / TXS);
  phases.validate.push((t3 - t2) / TXS);
  phases.commit.push((t4 - t3) / TXS);
  phases['mempool update'].push((t5 - t4) / TXS);
}
const systemUsPerTx = (process.cpuUsage().system - systemAtStart) / (TXS * BLOCKS);
const userUsPerTx = (process.cpuUsage().user - userAtStart) / (TXS * BLOCKS);
const compactions = level.compactions();
const committedTxs = TXS * BLOCKS;
const opsPerTx = (written.ops - writtenAtOpen.ops) / committedTxs;
const bytesPerTx = (written.bytes - writtenAtOpen.bytes) / committedTxs;
await level.close();
// What the store holds on disk once closed (LevelDB's tables and log), for the bytes written.
const diskBytes = (await readdir(join(dir, 'chain'))).reduce(
  async (sum, f) => (await sum) + (await stat(join(dir, 'chain', f))).size,
  Promise.resolve(0),
);
const onDisk = await diskBytes;
await rm(dir, { recursive: true, force: true });

const total = phases.decode.map((_, i) =>
  Object.values(phases).reduce((sum, xs) => sum + (xs[i] as number), 0),
);
console.log(`\n## user CPU per transaction, median of ${total.length} blocks after ${WARMUP} of warm-up`);
table([
  ...Object.entries(phases).map(([phase, xs]) => ({ phase, 'µs/tx': fmt(median(xs), 2) })),
  { phase: 'total', 'µs/tx': fmt(median(total), 2) },
]);
console.log(
  `\nuser CPU per transaction, mean over every block (LevelDB's merges included): ${fmt(userUsPerTx, 2)} µs`,
);
console.log(`system CPU per transaction, mean over every block (fsync mostly): ${fmt(systemUsPerTx, 2)} µs`);
console.log(
  `written to LevelDB per transaction (every block): ${fmt(opsPerTx, 2)} operations, ${fmt(bytesPerTx, 0)} bytes of keys and values; on disk at the end ${fmt(onDisk / committedTxs, 0)} bytes per transaction`,
);
console.log(
  compactions === undefined
    ? 'LevelDB wrote no tables'
    : `LevelDB, in-memory table ${fmt(writeBufferBytes / 2 ** 20, 0)} MiB: ${fmt(compactions.writtenMb, 0)} MiB of tables written (flushes and merges), ${fmt((compactions.writtenMb * 2 ** 20) / (written.bytes - writtenAtOpen.bytes), 2)}× the keys and values that came in`,
);
