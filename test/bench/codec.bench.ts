/**
 * npm run bench:codec — decoding and encoding what every validator handles per transaction, with
 * the baseline measured in the same run: RLP on Verity's own decoder and encoder
 * (ledger/rlp-decode.ts behind rlpDecodeStrict, ledger/rlp-encode.ts behind rlpEncode) vs
 * @ethereumjs/rlp's, on one signed transfer, a gossip frame of 512 and a block body of 2,000 (and
 * the commit's index record); and the whole `decodeTransaction` (RLP, field checks, sender
 * address), with and without the id hashed in; and the RPC nesting guard on a 1,000-transfer body
 * beside JSON.parse.
 *   --quick   shorter measurement windows
 */
import { RLP } from '@ethereumjs/rlp';
import { ed25519 } from '../../crypto/ed25519.ts';
import { rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import { encodeRlp, type RlpInput } from '../../ledger/rlp-encode.ts';
import { decodeTransaction, signTransaction } from '../../ledger/tx.ts';
import { jsonNestsDeeperThan } from '../../src/rpc/json-depth.ts';
import { seededBytes } from '../helpers/seeded.ts';
import { fmt, header, measure, table } from './harness.ts';

const quick = process.argv.includes('--quick');
const minMs = quick ? 200 : 1000;
const rand = seededBytes('bench-codec');

header('Verity codec benchmark');

const senders = Array.from({ length: 64 }, () => ed25519.keygen(rand(32)));
const txs = Array.from({ length: 2000 }, (_, i) => {
  const k = senders[i % senders.length] as (typeof senders)[number];
  return signTransaction(
    {
      chainId: 'verity-bench',
      sender: k.publicKey,
      nonce: i,
      op: { type: 'transfer', to: rand(20), amount: BigInt(1 + i) },
    },
    k.secretKey,
  );
});
const one = (txs[0] as (typeof txs)[number]).bytes;
const frame = rlpEncode(txs.slice(0, 512).map((t) => t.bytes));
const body = rlpEncode(txs.map((t) => t.bytes));

const rows: Array<Record<string, string>> = [];
for (const [input, bytes, perCall] of [
  ['one transfer', one, 1],
  ['gossip frame of 512', frame, 512],
  ['block body of 2,000', body, 2000],
] as const) {
  const ours = measure(`verity ${input}`, () => rlpDecodeStrict(bytes, 1 << 24), { minMs, batch: perCall });
  const theirs = measure(`ethereumjs ${input}`, () => RLP.decode(bytes), { minMs, batch: perCall });
  rows.push({
    'RLP decode of': input,
    bytes: fmt(bytes.length),
    'verity tx/s': fmt(ours.opsPerSec),
    '@ethereumjs/rlp tx/s': fmt(theirs.opsPerSec),
    ratio: `${(ours.opsPerSec / theirs.opsPerSec).toFixed(1)}×`,
    'verity µs/tx': (1e6 / ours.opsPerSec).toFixed(2),
  });
}
console.log(`## RLP decoding (a ${one.length}-byte signed transfer; tx/s counts the transactions decoded)`);
table(rows);

// Encoding: the same shapes as written — a transfer's fields, a frame or body of signed
// transactions — and the commit's per-transaction index record (four numbers).
const fields = rlpDecodeStrict(one, 1 << 16) as Uint8Array[];
const txList = txs.map((t) => t.bytes);
const encodeRows: Array<Record<string, string>> = [];
for (const [input, value, perCall] of [
  ['one transfer', fields, 1],
  ['tx index record [h, i, log, code]', [123_456, 1_234, 98_765_432, 0], 1],
  ['gossip frame of 512', txList.slice(0, 512), 512],
  ['block body of 2,000', txList, 2000],
] as const) {
  const ours = measure(`verity encode ${input}`, () => encodeRlp(value as RlpInput), {
    minMs,
    batch: perCall,
  });
  const theirs = measure(`ethereumjs encode ${input}`, () => RLP.encode(value as never), {
    minMs,
    batch: perCall,
  });
  encodeRows.push({
    'RLP encode of': input,
    'verity items/s': fmt(ours.opsPerSec),
    '@ethereumjs/rlp items/s': fmt(theirs.opsPerSec),
    ratio: `${(ours.opsPerSec / theirs.opsPerSec).toFixed(1)}×`,
    'verity µs/item': (1e6 / ours.opsPerSec).toFixed(2),
  });
}
console.log(
  '\n## RLP encoding (ledger/rlp-encode.ts behind rlpEncode; items/s counts transactions or records)',
);
table(encodeRows);

let i = 0;
const whole = measure(
  'decodeTransaction',
  () => decodeTransaction((txs[i++ % txs.length] as (typeof txs)[number]).bytes),
  { minMs },
);
let j = 0;
const withId = measure(
  'decodeTransaction with id',
  () => {
    const t = txs[j++ % txs.length] as (typeof txs)[number];
    decodeTransaction(t.bytes, undefined, t.idKey);
  },
  { minMs },
);
console.log('\n## decodeTransaction (RLP, field checks, sender address; the id is SHA-256 of the bytes)');
table([
  { case: 'hashing the id', 'tx/s': fmt(whole.opsPerSec), 'µs/tx': (1e6 / whole.opsPerSec).toFixed(2) },
  {
    case: 'id given (gossip and blocks)',
    'tx/s': fmt(withId.opsPerSec),
    'µs/tx': (1e6 / withId.opsPerSec).toFixed(2),
  },
]);

// The RPC's submit body: the nesting guard runs on every body before JSON.parse does (src/rpc/body.ts).
const submitBody = new TextEncoder().encode(
  JSON.stringify({ txs: txs.slice(0, 1000).map((t) => Buffer.from(t.bytes).toString('hex')) }),
);
const guard = measure('jsonNestsDeeperThan', () => jsonNestsDeeperThan(submitBody, 8), { minMs });
const parse = measure('JSON.parse', () => JSON.parse(new TextDecoder().decode(submitBody)), { minMs });
console.log(
  `\n## A /txs body of 1,000 transfers (${fmt(submitBody.length)} bytes): the nesting guard beside JSON.parse`,
);
table([
  { step: 'nesting guard (src/rpc/json-depth.ts)', 'ms/body': (1e3 / guard.opsPerSec).toFixed(3) },
  { step: 'JSON.parse (decode + parse)', 'ms/body': (1e3 / parse.opsPerSec).toFixed(3) },
]);
