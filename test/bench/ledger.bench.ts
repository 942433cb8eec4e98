/**
 * npm run bench:ledger — a follower's ledger work per committed transaction, on the store a node
 * runs (LevelDB with fsync behind the node's read cache), by phase, without the network or
 * consensus around it: the steps of bench:node's profile that belong to the ledger, measured
 * steadily enough to compare one change with the next.
 *
 * A proposer (in memory, untimed) builds a chain of blocks of transfers; the follower then, block
 * after block on one growing store: decodes the block as it arrives in a consensus message,
 * validates and executes it with its transactions already known (decoded and verified at gossip
 * admission, as `known` and the verified-id cache make them for a node), and commits it. Times are
 * this process's user CPU time (LevelDB's own threads included), medians over the blocks after a
 * warm-up; system time (mostly fsync) is reported apart, and so are the operations and bytes
 * written; signature verification is not in them (bench:crypto, bench:node).
 *   --blocks N (default 40)  --txs N per block (default 2000)  --quick (10 blocks)
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byteKey } from '../../crypto/bytes.ts';
import { decodeBlock, encodeBlock } from '../../ledger/block.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { isStateKey } from '../../ledger/chain-layout.ts';
import { CachingKvStore, type KvStore, MemoryKvStore } from '../../ledger/kv.ts';
import { type EncodedTransaction, signTransaction, verifyTransaction } from '../../ledger/tx.ts';
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
const blocks: Array<{ bytes: Uint8Array; txs: EncodedTransaction[]; cert: unknown }> = [];
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
  blocks.push({ bytes: encodeBlock(executed.block).slice(), txs, cert });
  for (const t of txs) verifyTransaction(t, chain.genesis.chainId); // admitted at gossip: known good
}

const dir = await mkdtemp(join(tmpdir(), 'verity-bench-ledger-'));
const level = await LevelKvStore.open(join(dir, 'chain'), { sync: true });
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
const phases = { decode: [] as number[], validate: [] as number[], commit: [] as number[] };
for (const [b, { bytes, txs, cert }] of blocks.entries()) {
  const known = new Map(txs.map((t) => [byteKey(t.bytes), t]));
  const t0 = cpuUs();
  const block = decodeBlock(bytes);
  const t1 = cpuUs();
  const executed = await follower.validateAndExecute(block, {
    known: (bytes) => known.get(byteKey(bytes)),
  });
  const t2 = cpuUs();
  await follower.commit(executed, cert as never);
  const t3 = cpuUs();
  if (b < WARMUP) continue;
  phases.decode.push((t1 - t0) / TXS);
  phases.validate.push((t2 - t1) / TXS);
  phases.commit.push((t3 - t2) / TXS);
}
const systemUsPerTx = (process.cpuUsage().system - systemAtStart) / (TXS * BLOCKS);
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

const total = phases.decode.map((d, i) => d + (phases.validate[i] as number) + (phases.commit[i] as number));
console.log(`\n## user CPU per transaction, median of ${total.length} blocks after ${WARMUP} of warm-up`);
table([
  ...Object.entries(phases).map(([phase, xs]) => ({ phase, 'µs/tx': fmt(median(xs), 2) })),
  { phase: 'total', 'µs/tx': fmt(median(total), 2) },
]);
console.log(
  `\nsystem CPU per transaction, mean over every block (fsync mostly): ${fmt(systemUsPerTx, 2)} µs`,
);
console.log(
  `written to LevelDB per transaction (every block): ${fmt(opsPerTx, 2)} operations, ${fmt(bytesPerTx, 0)} bytes of keys and values; on disk at the end ${fmt(onDisk / committedTxs, 0)} bytes per transaction`,
);
