/**
 * npm run bench:snapshot — what state sync saves: a node with an empty chain catching up to height
 * H of an in-process chain (LevelDB-free: MemoryKvStore, ed25519 quorum certificates, transfers
 * among A accounts), side by side in the same run:
 *   - replay: every block's certificate verified, the block re-executed (signatures, trie) and
 *     committed — what block sync does;
 *   - snapshot: SnapshotSource at H, the parts through a SnapshotReceiver (every trie node hashed,
 *     log and history roots checked) and installed in one batch — what state sync does.
 * Medians of --runs runs (default 3); the ratio is replay ÷ snapshot. A real network adds transfer
 * time to both (the snapshot moves about the state's size; replay moves every block).
 *
 *   node test/bench/snapshot.bench.ts [--blocks 200] [--txs 50] [--accounts 1000] [--runs 3] [--json]
 */
import { performance } from 'node:perf_hooks';
import { LEDGER_CERTIFICATE_SCHEMES, verifyCertificate } from '../../ledger/certificate.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { SnapshotReceiver, SnapshotSource } from '../../ledger/snapshot.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { makeTestChain, quorumCertificate, type TestKey } from '../helpers/chain.ts';
import { machine } from './harness.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
if (process.argv.includes('--help')) {
  console.log(
    'node test/bench/snapshot.bench.ts [--blocks 200] [--txs 50] [--accounts 1000] [--runs 3] [--json]',
  );
  process.exit(0);
}
const BLOCKS = arg('blocks', 200);
const TXS = arg('txs', 50);
const ACCOUNTS = arg('accounts', 1000);
const RUNS = arg('runs', 3);
const OPTS = { schemes: LEDGER_CERTIFICATE_SCHEMES };
const GENESIS_MS = 1_700_000_000_000;

const chain = makeTestChain({ validators: 4, accounts: ACCOUNTS, label: 'snapshot-bench' });
const accounts = chain.accounts as TestKey[];

process.stderr.write(`building ${BLOCKS} blocks × ${TXS} transfers among ${ACCOUNTS} accounts…\n`);
const source = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
const nonces = new Map<number, number>();
for (let h = 1; h <= BLOCKS; h++) {
  const txs = [];
  for (let t = 0; t < TXS; t++) {
    const from = ((h - 1) * TXS + t) % ACCOUNTS;
    const to = (from * 7 + h) % ACCOUNTS;
    const nonce = nonces.get(from) ?? 0;
    nonces.set(from, nonce + 1);
    const a = accounts[from] as TestKey;
    txs.push(
      signTransaction(
        {
          chainId: chain.genesis.chainId,
          sender: a.publicKey,
          nonce,
          op: { type: 'transfer', to: (accounts[to] as TestKey).address, amount: 1n },
        },
        a.secretKey,
      ),
    );
  }
  const executed = await source.propose({
    txs,
    time: { ms: GENESIS_MS + h * 1000, logical: 0 },
    proposer: (chain.validators[0] as TestKey).address,
    engineData: new Uint8Array(0),
  });
  await source.commit(executed, quorumCertificate(chain, h, executed.hash));
}

async function replay(): Promise<number> {
  const node = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
  const t0 = performance.now();
  for (let h = 1; h <= BLOCKS; h++) {
    const block = (await source.getBlock(h)) as NonNullable<Awaited<ReturnType<typeof source.getBlock>>>;
    const cert = (await source.getCertificate(h)) as NonNullable<
      Awaited<ReturnType<typeof source.getCertificate>>
    >;
    const check = verifyCertificate(cert, block.header, await node.trustFor(h), node.schemes);
    if (!check.ok) throw new Error(check.reason);
    await node.commit(await node.validateAndExecute(block), cert);
  }
  const ms = performance.now() - t0;
  if (node.height !== BLOCKS) throw new Error('replay did not reach the head');
  return ms;
}

async function snapshot(): Promise<{ ms: number; bytes: number; nodes: number; logSize: number }> {
  const node = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
  const t0 = performance.now();
  const src = await SnapshotSource.open(source, BLOCKS);
  const receiver = await SnapshotReceiver.start(node, src.manifest);
  let bytes = src.manifest.block.length + src.manifest.certificate.length;
  for (let next = receiver.next(); next !== undefined; next = receiver.next()) {
    const items =
      next.section === 'state'
        ? await src.stateNodes(next.from, 4096)
        : next.section === 'log'
          ? await src.logEntries(next.from, 4096)
          : await src.historyHashes(next.from, 4096);
    for (const i of items) bytes += i.length;
    if (next.section === 'state') receiver.addStateNodes(items);
    else if (next.section === 'log') receiver.addLogEntries(items);
    else receiver.addHistoryHashes(items);
  }
  await receiver.install();
  const ms = performance.now() - t0;
  if (node.height !== BLOCKS) throw new Error('the snapshot did not reach the head');
  return { ms, bytes, nodes: src.manifest.stateNodes, logSize: src.manifest.logSize };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const replays: number[] = [];
const snapshots: number[] = [];
let last: Awaited<ReturnType<typeof snapshot>> | undefined;
for (let r = 0; r < RUNS; r++) {
  replays.push(await replay());
  last = await snapshot();
  snapshots.push(last.ms);
}
const blockBytes = await (async () => {
  let n = 0;
  for (let h = 1; h <= BLOCKS; h++) n += (await source.getBlockBytes(h))?.length ?? 0;
  return n;
})();
const result = {
  machine: machine(),
  blocks: BLOCKS,
  txs: BLOCKS * TXS,
  accounts: ACCOUNTS,
  replayMs: Math.round(median(replays)),
  snapshotMs: Math.round(median(snapshots)),
  ratio: Number((median(replays) / median(snapshots)).toFixed(1)),
  replayBytes: blockBytes,
  snapshotBytes: last?.bytes ?? 0,
  stateNodes: last?.nodes ?? 0,
  logEntries: last?.logSize ?? 0,
};
if (process.argv.includes('--json')) console.log(JSON.stringify(result));
else {
  console.log(`state sync vs replay — ${result.machine}`);
  console.log(
    `  ${BLOCKS} blocks, ${result.txs} transfers, ${ACCOUNTS} accounts; medians of ${RUNS} runs (in memory)`,
  );
  console.log(`  replay:   ${result.replayMs} ms   (${(blockBytes / 1024).toFixed(0)} KiB of blocks)`);
  console.log(
    `  snapshot: ${result.snapshotMs} ms   (${(result.snapshotBytes / 1024).toFixed(0)} KiB: ${result.stateNodes} trie nodes, ${result.logEntries} log entries, ${BLOCKS + 1} block hashes)`,
  );
  console.log(`  replay ÷ snapshot: ${result.ratio}×`);
}
