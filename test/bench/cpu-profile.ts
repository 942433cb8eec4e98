/**
 * Where a node's time goes: reads V8 `.cpuprofile` files (written by `node --cpu-prof`) and sorts
 * the main thread's busy samples into named parts of Verity, optionally only inside time windows.
 * Used by `npm run bench:node -- --profile`.
 *
 * A sample is charged to the innermost frame on its stack that matches a part, so time spent in
 * RLP or hashing under the trie counts as the trie, and ed25519 verification (OpenSSL's or
 * libsodium's) counts as itself wherever it is called from.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: number[];
}
interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

/** A window on the monotonic clock, in microseconds (`process.hrtime.bigint() / 1000n`). */
export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

const PARTS: ReadonlyArray<readonly [string, (f: CallFrame) => boolean]> = [
  ['ed25519 verify (OpenSSL)', (f) => f.functionName === 'verifyOneShot'],
  ['ed25519 verify (libsodium)', (f) => /\/sodium-native\//.test(f.url)],
  ['ed25519 sign (OpenSSL)', (f) => f.functionName === 'signOneShot'],
  ['startup (module loading)', (f) => /node:internal\/(modules|deps\/amaro)/.test(f.url)],
  ['BLS', (f) => /crypto\/bls\/|@chainsafe\/blst|@noble\/curves\/abstract\/(bls|tower)/.test(f.url)],
  ['trie (ledger/mpt)', (f) => /\/ledger\/mpt\//.test(f.url)],
  ['transparency log (ledger/log)', (f) => /\/ledger\/log\//.test(f.url)],
  ['state machine (ledger/state)', (f) => /\/ledger\/state\.ts/.test(f.url)],
  ['transaction decoding', (f) => /\/ledger\/tx\.ts/.test(f.url)],
  ['chain store, blocks, KV cache', (f) => /\/ledger\/(chain|block|kv|bundle)\.ts/.test(f.url)],
  ['LevelDB bindings', (f) => /classic-level|abstract-level|src\/storage\//.test(f.url)],
  ['mempool', (f) => /src\/runtime\/mempool/.test(f.url)],
  ['consensus engine', (f) => /\/consensus\//.test(f.url)],
  ['RPC (HTTP, JSON)', (f) => /src\/rpc\/|node:_http|node:http/.test(f.url)],
  [
    'libp2p (Noise, Yamux, streams)',
    (f) => /libp2p|yamux|noise|chacha|\/it-|uint8arraylist|multiformats|^wasm:/.test(f.url),
  ],
  ['runtime and network glue', (f) => /src\/(runtime|net|node)\//.test(f.url)],
  ['metrics and logs', (f) => /prom-client|pino|sonic-boom/.test(f.url)],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
];

/** Busy main-thread microseconds per part (idle samples dropped), inside `windows` if given. */
export function profileParts(path: string, windows?: readonly Window[]): Map<string, number> {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOf = new Map<number, string | null>(); // memo per leaf node; null = idle
  const classify = (id: number): string | null => {
    const memo = partOf.get(id);
    if (memo !== undefined) return memo;
    const leaf = byId.get(id)?.callFrame;
    let part: string | null = leaf?.functionName === '(idle)' ? null : 'other';
    if (part !== null)
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const f = byId.get(cur)?.callFrame;
        const hit = f && PARTS.find(([, match]) => match(f));
        if (hit) {
          part = hit[0];
          break;
        }
      }
    partOf.set(id, part);
    return part;
  };
  const out = new Map<string, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (windows && !windows.some((w) => t >= w.fromUs && t <= w.toUs)) continue;
    const part = classify(p.samples[i] as number);
    if (part !== null) out.set(part, (out.get(part) ?? 0) + dt);
  }
  return out;
}

/** Each part's share of the busy time summed over several profiles, largest first. */
export function shares(parts: ReadonlyArray<Map<string, number>>): Array<{ part: string; share: number }> {
  const sum = new Map<string, number>();
  for (const m of parts) for (const [k, v] of m) sum.set(k, (sum.get(k) ?? 0) + v);
  const total = [...sum.values()].reduce((a, b) => a + b, 0) || 1;
  return [...sum]
    .map(([part, us]) => ({ part, share: us / total }))
    .sort((a, b) => b.share - a.share || (a.part < b.part ? -1 : 1));
}
