/**
 * Node configuration: a TOML file per node home (config.toml) with every tunable, defaults for
 * everything, and command-line overrides on top. Validation names the offending key.
 *
 * One table, CONFIG_SCHEMA, says for every key its TOML name, type, default and meaning; RULES
 * holds the checks that span values or keys. Defaults, parsing, validation, `--set` overrides,
 * the TOML written by `verity init` and the reference (docs/CONFIG.md, `npm run docs:config`)
 * all come from them.
 *
 *   [node]       moniker, log_level, log_format ("json" | "pretty")
 *   [p2p]        listen, peers = ["<peerId>@/ip4/…/tcp/…"], allow_non_validators, max_frame_* …
 *   [rpc]        listen = "127.0.0.1:26657", max_body_bytes, commit_timeout_ms, max_connections …
 *   [mempool]    max_txs, max_bytes, max_per_sender, future_nonce_window, max_tx_bytes
 *   [consensus]  max_block_txs, max_block_bytes, min_block_interval_ms, busy_block_interval_ms,
 *                max_future_drift_ms, status_interval_ms
 *   [storage]    sync (fsync every commit; never turn off for a validator)
 */
import { readFile } from 'node:fs/promises';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { VerityError } from '../../crypto/errors.ts';
import { DEFAULT_MAX_TX_BYTES } from '../../ledger/tx.ts';

/**
 * The most `consensus.min_block_interval_ms` may be: half the shortest default proposal timeout
 * (Algorand's 500 ms proposal wait). At 500 ms and more the simulator's Algorand changed periods.
 */
export const MAX_MIN_BLOCK_INTERVAL_MS = 250;

export class ConfigError extends VerityError<'CONFIG_INVALID'> {}

export interface NodeConfig {
  readonly node: {
    moniker: string;
    logLevel: 'debug' | 'info' | 'warn' | 'error';
    logFormat: 'json' | 'pretty';
    /** `auto` or a count of worker threads (see CONFIG_SCHEMA and verifyThreadCount). */
    verifyThreads: string;
  };
  readonly p2p: {
    listen: string;
    peers: string[];
    allowNonValidators: boolean;
    maxConsensusFrameBytes: number;
    maxTxFrameBytes: number;
    maxSyncFrameBytes: number;
  };
  readonly rpc: {
    listen: string;
    maxBodyBytes: number;
    commitTimeoutMs: number;
    maxConnections: number;
    maxConnectionsPerIp: number;
    maxRequestsPerSecondPerIp: number;
  };
  readonly mempool: {
    maxTxs: number;
    maxBytes: number;
    maxPerSender: number;
    futureNonceWindow: number;
    /** Largest transaction (encoded bytes) this node admits over RPC and gossip (CONFIG_SCHEMA). */
    maxTxBytes: number;
  };
  readonly consensus: {
    maxBlockTxs: number;
    maxBlockBytes: number;
    minBlockIntervalMs: number;
    busyBlockIntervalMs: number;
    maxFutureDriftMs: number;
    statusIntervalMs: number;
    snapshotLead: number;
  };
  readonly storage: { sync: boolean };
}

export type ConfigSection = keyof NodeConfig;

/** One key of config.toml: its TOML name, type, default and meaning. */
export type KeySpec<V> = {
  /** The key in config.toml (snake_case). */
  readonly key: string;
  /** What it means, for the reference: sentences, Markdown inline code allowed. */
  readonly doc: string;
} & ([V] extends [number]
  ? { readonly kind: 'integer'; readonly default: V; readonly unit?: 'bytes' | 'ms' }
  : [V] extends [boolean]
    ? { readonly kind: 'boolean'; readonly default: V }
    : [V] extends [readonly string[]]
      ? { readonly kind: 'strings'; readonly default: readonly string[] }
      : { readonly kind: 'string'; readonly default: V; readonly values?: readonly V[] });

/** Every field of NodeConfig has a spec (the type checker holds the table to the interface). */
export type ConfigSchema = {
  readonly [S in ConfigSection]: { readonly [F in keyof NodeConfig[S]]-?: KeySpec<NodeConfig[S][F]> };
};

/** The moniker when none is given (`verity init` and `verity testnet` write node0, node1, …). */
const DEFAULT_MONIKER = 'node';

/** `node.verify_threads = "auto"` starts at most this many; an explicit count at most MAX_VERIFY_THREADS. */
const MAX_AUTO_VERIFY_THREADS = 4;
const MAX_VERIFY_THREADS = 64;

/**
 * Worker threads for `node.verify_threads` on a machine with `cores` (os.availableParallelism):
 * `auto` leaves one core to the event loop. The setting was checked by RULES.
 */
export function verifyThreadCount(setting: string, cores: number): number {
  return setting === 'auto' ? Math.max(0, Math.min(MAX_AUTO_VERIFY_THREADS, cores - 1)) : Number(setting);
}

/** In the order config.toml and the reference show them. */
export const CONFIG_SCHEMA: ConfigSchema = {
  node: {
    moniker: {
      key: 'moniker',
      kind: 'string',
      default: DEFAULT_MONIKER,
      doc: "This node's name in its logs (`verity init` and `verity testnet` write `node0`, `node1`, …).",
    },
    logLevel: {
      key: 'log_level',
      kind: 'string',
      default: 'info',
      values: ['debug', 'info', 'warn', 'error'],
      doc: 'The least severe log lines written (`verity start --log-level` overrides it).',
    },
    logFormat: {
      key: 'log_format',
      kind: 'string',
      default: 'json',
      values: ['json', 'pretty'],
      doc: 'Log lines as JSON, one object per line (for log collectors), or human-readable (`verity start --log-format` overrides it).',
    },
    verifyThreads: {
      key: 'verify_threads',
      kind: 'string',
      default: 'auto',
      doc: `Worker threads that check the signatures of submitted and gossiped transactions (and of block transactions the node had not seen), off the event loop (the verdicts are the same on any count). \`"auto"\`: one fewer than the machine's cores, at most ${MAX_AUTO_VERIFY_THREADS} (none on one core); \`"0"\`: verify on the event loop; or a count up to ${MAX_VERIFY_THREADS}, as a string.`,
    },
  },
  p2p: {
    listen: {
      key: 'listen',
      kind: 'string',
      default: '/ip4/127.0.0.1/tcp/26656',
      doc: 'The libp2p multiaddr this node listens on for peers; `/ip4/0.0.0.0/tcp/PORT` accepts peers from other hosts.',
    },
    peers: {
      key: 'peers',
      kind: 'strings',
      default: [],
      doc: "Peers to dial and stay connected to, each `<peerId>@<multiaddr>` (`verity keys show` prints a key's peer id). This node's own entry is skipped, so one list can serve every node.",
    },
    allowNonValidators: {
      key: 'allow_non_validators',
      kind: 'boolean',
      default: false,
      doc: 'Also accept peers outside the genesis validator set (full nodes), on the transaction and block-sync channels only. When false, only validators connect.',
    },
    maxConsensusFrameBytes: {
      key: 'max_consensus_frame_bytes',
      kind: 'integer',
      unit: 'bytes',
      default: 1024 * 1024,
      doc: 'The largest message accepted on the consensus channel (votes, and proposals that carry a whole block); a peer that sends more is scored down.',
    },
    maxTxFrameBytes: {
      key: 'max_tx_frame_bytes',
      kind: 'integer',
      unit: 'bytes',
      default: 128 * 1024,
      doc: 'The largest frame accepted on the transaction-gossip channel.',
    },
    maxSyncFrameBytes: {
      key: 'max_sync_frame_bytes',
      kind: 'integer',
      unit: 'bytes',
      default: 32 * 1024 * 1024,
      doc: 'The largest frame accepted on the block-sync channel (blocks with their certificates).',
    },
  },
  rpc: {
    listen: {
      key: 'listen',
      kind: 'string',
      default: '127.0.0.1:26657',
      doc: 'HOST:PORT of the HTTP + JSON RPC server; `0.0.0.0:PORT` serves other hosts, port 0 takes any free port.',
    },
    maxBodyBytes: {
      key: 'max_body_bytes',
      kind: 'integer',
      unit: 'bytes',
      default: 256 * 1024,
      doc: 'The largest request body the RPC accepts (`POST /tx`, `POST /txs`).',
    },
    commitTimeoutMs: {
      key: 'commit_timeout_ms',
      kind: 'integer',
      unit: 'ms',
      default: 30_000,
      doc: 'How long `POST /tx?mode=commit` waits for the transaction to commit before answering that it has not yet.',
    },
    maxConnections: {
      key: 'max_connections',
      kind: 'integer',
      default: 1024,
      doc: 'Connections the RPC holds at once; beyond it new ones are closed on accept (a warning once a minute says so).',
    },
    maxConnectionsPerIp: {
      key: 'max_connections_per_ip',
      kind: 'integer',
      default: 256,
      doc: 'Connections one remote address may hold at once (0: no limit), so that one client cannot take every slot.',
    },
    maxRequestsPerSecondPerIp: {
      key: 'max_requests_per_second_per_ip',
      kind: 'integer',
      default: 0,
      doc: 'Requests a second one remote address may make, with a burst of as many (0: no limit); beyond it the answer is 429 `RATE_LIMITED`. Off by default, since the RPC listens on loopback; set it when it serves other hosts.',
    },
  },
  mempool: {
    maxTxs: {
      key: 'max_txs',
      kind: 'integer',
      default: 20_000,
      doc: 'Pending transactions kept at most. When full, the newest transaction of the sender holding the most is evicted, or the newcomer refused.',
    },
    maxBytes: {
      key: 'max_bytes',
      kind: 'integer',
      unit: 'bytes',
      default: 64 * 1024 * 1024,
      doc: 'Total encoded size of the pending transactions at most (evicting as for `max_txs`).',
    },
    maxPerSender: {
      key: 'max_per_sender',
      kind: 'integer',
      default: 1024,
      doc: 'Pending transactions per sender at most, so one flooding client cannot fill the pool.',
    },
    futureNonceWindow: {
      key: 'future_nonce_window',
      kind: 'integer',
      default: 1024,
      doc: "How far ahead of its sender's committed nonce a transaction is still admitted (it waits behind the nonce gap).",
    },
    maxTxBytes: {
      key: 'max_tx_bytes',
      kind: 'integer',
      unit: 'bytes',
      default: DEFAULT_MAX_TX_BYTES,
      doc: 'The largest transaction (encoded bytes) this node admits over RPC and gossip. Admission only: block validity uses the protocol maximum, the same on every validator, so this can only lower it.',
    },
  },
  // Blocks must fit a consensus frame (proposals carry the block): keep max_block_bytes below it.
  // 2,000 transactions keep one block's validation well inside a round's timeouts on small machines.
  consensus: {
    maxBlockTxs: {
      key: 'max_block_txs',
      kind: 'integer',
      default: 2000,
      doc: "Transactions per block at most; the default keeps one block's validation well inside a round's timeouts on small machines.",
    },
    maxBlockBytes: {
      key: 'max_block_bytes',
      kind: 'integer',
      unit: 'bytes',
      default: 960 * 1024,
      doc: 'The largest block this node builds when it proposes; blocks from other validators are accepted up to 64 KiB larger.',
    },
    minBlockIntervalMs: {
      key: 'min_block_interval_ms',
      kind: 'integer',
      unit: 'ms',
      default: 100,
      doc: "A block this node proposes waits until its parent's timestamp plus this long (never longer than the floor), unless the mempool already holds a full block (max_block_txs): a lightly loaded network then makes fewer, larger blocks instead of keeping every validator's CPU busy with near-empty ones. Adds up to this much latency per block under light load (HotStuff commits a block once its child is certified, so up to twice this; three times with the three-chain rule); 0 proposes back to back, busy or not. When this node is busy the floor stretches toward busy_block_interval_ms (and may then be longer than this). The other validators' proposal timeouts run meanwhile: keep it well below the shortest (defaults: Algorand's proposal wait 500 ms, the others 1 s or more; Proof of Stake's attestations at a third of a slot). Pacing only: blocks closer together are still valid.",
    },
    busyBlockIntervalMs: {
      key: 'busy_block_interval_ms',
      kind: 'integer',
      unit: 'ms',
      default: 200,
      doc: "The floor under the block interval when this node is saturated: as its event loop's busy share over the last second (metric verity_event_loop_utilization) rises from 0.3 to 0.5, the floor stretches linearly from min_block_interval_ms to this. Every block costs each validator CPU whatever it holds, so near capacity fewer, larger blocks leave more of the machine for transactions; below it the floor stays short, where waiting would only add latency. At or below min_block_interval_ms: never stretches. Pacing only, like min_block_interval_ms, and under the same bound.",
    },
    maxFutureDriftMs: {
      key: 'max_future_drift_ms',
      kind: 'integer',
      unit: 'ms',
      default: 10_000,
      doc: "How far ahead of this node's clock a block's time may be; a block further ahead is refused.",
    },
    statusIntervalMs: {
      key: 'status_interval_ms',
      kind: 'integer',
      unit: 'ms',
      default: 1000,
      doc: 'How often this node tells its peers its height (block sync); a peer silent for 10 intervals is forgotten.',
    },
    snapshotLead: {
      key: 'snapshot_lead',
      kind: 'integer',
      default: 1000,
      doc: "State sync: a node with an empty chain (new, or after `verity reset`) whose peer is at least this many blocks ahead installs that peer's certified state snapshot instead of replaying every block, then replays from there. 0 turns it off; snapshots are served either way. Not on chains with staking.",
    },
  },
  storage: {
    sync: {
      key: 'sync',
      kind: 'boolean',
      default: true,
      doc: 'fsync the chain store on every commit. Never turn it off on a validator: a crash could lose committed blocks. (The consensus WAL is always synced.)',
    },
  },
};

/** What each section is for, for the reference. */
export const SECTION_DOCS: Readonly<Record<ConfigSection, string>> = {
  node: 'Identity and logging.',
  p2p: 'The peer-to-peer network (libp2p): where this node listens, whom it dials, and frame caps per channel.',
  rpc: 'The HTTP + JSON RPC server.',
  mempool: 'Transactions waiting for a block.',
  consensus: 'Block limits and timing.',
  storage: 'The chain store (LevelDB in `HOME/data/chain`).',
};

/** A key's spec, as the loops below see it. */
export type AnyKeySpec = {
  readonly key: string;
  readonly doc: string;
  readonly kind: 'string' | 'integer' | 'boolean' | 'strings';
  readonly default: unknown;
  readonly values?: readonly string[];
  readonly unit?: 'bytes' | 'ms';
};

/** The fields of a section with their specs, in schema order. */
export function sectionSpecs(section: ConfigSection): ReadonlyArray<readonly [field: string, AnyKeySpec]> {
  return Object.entries(CONFIG_SCHEMA[section]) as Array<[string, AnyKeySpec]>;
}

const SECTIONS = Object.keys(CONFIG_SCHEMA) as ConfigSection[];

/** TOML key ↔ config field, per section. */
const KEYS: Record<ConfigSection, Record<string, string>> = Object.fromEntries(
  SECTIONS.map((s) => [s, Object.fromEntries(sectionSpecs(s).map(([field, spec]) => [spec.key, field]))]),
) as Record<ConfigSection, Record<string, string>>;

/** The TOML key's spec (`section.key`), if there is one. */
export function keySpec(dotted: string): AnyKeySpec | undefined {
  const [section, key] = dotted.split('.') as [string, string | undefined];
  if (!Object.hasOwn(KEYS, section) || key === undefined) return undefined;
  const keys = KEYS[section as ConfigSection];
  if (!Object.hasOwn(keys, key)) return undefined;
  return (CONFIG_SCHEMA[section as ConfigSection] as Record<string, AnyKeySpec>)[keys[key] as string];
}

export function defaultConfig(moniker = DEFAULT_MONIKER): NodeConfig {
  const out: Record<string, Record<string, unknown>> = {};
  for (const section of SECTIONS) {
    const table: Record<string, unknown> = {};
    for (const [field, spec] of sectionSpecs(section))
      table[field] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
    out[section] = table;
  }
  (out.node as Record<string, unknown>).moniker = moniker;
  return out as unknown as NodeConfig;
}

/** One thing wrong with a config: the key (`section.key`, or the section) and what is wrong. */
export interface ConfigProblem {
  readonly key: string;
  readonly message: string;
}

/** "a, b or c" */
function oneOf(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}

/** Smaller than any signed transaction with an operation: a cap below it would admit nothing. */
const MIN_TX_BYTES = 256;

/**
 * A check on the merged config: `rule` says what must hold (the reference prints it under `key`),
 * `problem` says what is wrong with `c`, if anything.
 */
export interface ConfigRule {
  readonly key: string;
  readonly rule: string;
  problem(c: NodeConfig): string | undefined;
}

const when = (broken: boolean, message: string) => (broken ? message : undefined);

function enumRule(section: 'node', field: 'logLevel' | 'logFormat'): ConfigRule {
  const spec = CONFIG_SCHEMA[section][field] as AnyKeySpec;
  const rule = `must be ${oneOf(spec.values ?? [])}`;
  return {
    key: `${section}.${spec.key}`,
    rule,
    problem: (c) => when(!(spec.values ?? []).includes(c[section][field]), rule),
  };
}

/** Checked in this order, after every key has the right type; the first problem is the one thrown. */
export const RULES: readonly ConfigRule[] = [
  enumRule('node', 'logLevel'),
  enumRule('node', 'logFormat'),
  {
    key: 'node.verify_threads',
    rule: `must be "auto" or a whole number from 0 to ${MAX_VERIFY_THREADS}`,
    problem: (c) =>
      when(
        !/^(auto|0|[1-9]\d{0,1})$/.test(c.node.verifyThreads) ||
          (c.node.verifyThreads !== 'auto' && Number(c.node.verifyThreads) > MAX_VERIFY_THREADS),
        `must be "auto" or a whole number from 0 to ${MAX_VERIFY_THREADS}`,
      ),
  },
  {
    key: 'rpc.listen',
    rule: 'must be host:port',
    problem: (c) => when(!/^[^:]+:\d{1,5}$/.test(c.rpc.listen), 'must be host:port'),
  },
  {
    key: 'rpc.max_connections',
    rule: 'must be at least 1',
    problem: (c) => when(c.rpc.maxConnections < 1, 'must be at least 1'),
  },
  {
    key: 'consensus.max_block_bytes',
    rule: 'must leave 64 KiB of room below p2p.max_consensus_frame_bytes (proposals carry blocks)',
    problem: (c) =>
      when(
        c.consensus.maxBlockBytes + 64 * 1024 > c.p2p.maxConsensusFrameBytes,
        'must leave 64 KiB of room below p2p.max_consensus_frame_bytes (proposals carry blocks)',
      ),
  },
  {
    key: 'consensus.min_block_interval_ms',
    rule: "must be at most 250 (the other validators' proposal timeouts run while a proposer waits: Algorand's default proposal wait is 500 ms)",
    problem: (c) =>
      when(
        c.consensus.minBlockIntervalMs > MAX_MIN_BLOCK_INTERVAL_MS,
        "must be at most 250 (the other validators' proposal timeouts run while a proposer waits: Algorand's default proposal wait is 500 ms)",
      ),
  },
  {
    key: 'consensus.busy_block_interval_ms',
    rule: `must be at most ${MAX_MIN_BLOCK_INTERVAL_MS} (the bound of min_block_interval_ms: the other validators' proposal timeouts run while a proposer waits)`,
    problem: (c) =>
      when(
        c.consensus.busyBlockIntervalMs > MAX_MIN_BLOCK_INTERVAL_MS,
        `must be at most ${MAX_MIN_BLOCK_INTERVAL_MS} (the bound of min_block_interval_ms: the other validators' proposal timeouts run while a proposer waits)`,
      ),
  },
  {
    key: 'consensus.max_block_txs',
    rule: 'must be at least 1',
    problem: (c) => when(c.consensus.maxBlockTxs < 1, 'must be at least 1'),
  },
  {
    key: 'mempool.max_tx_bytes',
    rule: `must be at least ${MIN_TX_BYTES}`,
    problem: (c) => when(c.mempool.maxTxBytes < MIN_TX_BYTES, `must be at least ${MIN_TX_BYTES}`),
  },
  // Admission only: block validity uses the protocol maximum, the same on every validator, so a
  // node with a larger setting would admit transactions no block may carry.
  {
    key: 'mempool.max_tx_bytes',
    rule: `must not exceed the protocol maximum of ${DEFAULT_MAX_TX_BYTES} bytes`,
    problem: (c) =>
      when(
        c.mempool.maxTxBytes > DEFAULT_MAX_TX_BYTES,
        `must not exceed the protocol maximum of ${DEFAULT_MAX_TX_BYTES} bytes`,
      ),
  },
  // A transaction must fit every path it travels: a gossip frame (plus batch framing), an RPC body
  // (hex doubles it, plus the JSON around it), a block, and the mempool itself.
  {
    key: 'mempool.max_tx_bytes',
    rule: 'must leave 1 KiB of room below p2p.max_tx_frame_bytes',
    problem: (c) =>
      when(
        c.mempool.maxTxBytes + 1024 > c.p2p.maxTxFrameBytes,
        'must leave 1 KiB of room below p2p.max_tx_frame_bytes',
      ),
  },
  {
    key: 'mempool.max_tx_bytes',
    rule: 'a hex-encoded transaction must fit rpc.max_body_bytes (2 × + 1 KiB)',
    problem: (c) =>
      when(
        2 * c.mempool.maxTxBytes + 1024 > c.rpc.maxBodyBytes,
        'a hex-encoded transaction must fit rpc.max_body_bytes (2 × + 1 KiB)',
      ),
  },
  {
    key: 'mempool.max_tx_bytes',
    rule: 'must not exceed consensus.max_block_bytes',
    problem: (c) =>
      when(c.mempool.maxTxBytes > c.consensus.maxBlockBytes, 'must not exceed consensus.max_block_bytes'),
  },
  {
    key: 'mempool.max_tx_bytes',
    rule: 'must not exceed mempool.max_bytes',
    problem: (c) => when(c.mempool.maxTxBytes > c.mempool.maxBytes, 'must not exceed mempool.max_bytes'),
  },
  {
    key: 'p2p.peers',
    rule: 'each entry must look like <peerId>@<multiaddr>',
    problem: (c) => {
      const p = c.p2p.peers.find((x) => !/^[1-9A-HJ-NP-Za-km-z]{40,64}@\/.+/.test(x));
      return p === undefined ? undefined : `"${p}" must look like <peerId>@<multiaddr>`;
    },
  },
];

function bad(key: string, reason: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', `config ${key}: ${reason}`, { key });
}

function throwFirst(problems: readonly ConfigProblem[]): void {
  const p = problems[0];
  if (p !== undefined) throw bad(p.key, p.message);
}

/** What is wrong with a merged config (RULES, in order). */
export function configProblems(c: NodeConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const r of RULES) {
    const message = r.problem(c);
    if (message !== undefined) out.push({ key: r.key, message });
  }
  return out;
}

/**
 * Merges a parsed TOML document over the defaults and reports every problem: unknown sections and
 * keys and values of the wrong type first (in document order; such values are left at their
 * defaults), then the RULES on the result. configFromToml throws the first of them.
 */
export function checkConfigToml(
  doc: Record<string, unknown>,
  moniker?: string,
): { config: NodeConfig; problems: ConfigProblem[] } {
  const cfg = defaultConfig(moniker) as unknown as Record<string, Record<string, unknown>>;
  const problems: ConfigProblem[] = [];
  const problem = (key: string, message: string) => problems.push({ key, message });
  for (const [section, table] of Object.entries(doc)) {
    const keys = Object.hasOwn(KEYS, section) ? KEYS[section as ConfigSection] : undefined;
    if (keys === undefined) {
      problem(section, `unknown section (known: ${SECTIONS.join(', ')})`);
      continue;
    }
    if (typeof table !== 'object' || table === null || Array.isArray(table)) {
      problem(section, 'must be a table');
      continue;
    }
    const specs = CONFIG_SCHEMA[section as ConfigSection] as Record<string, AnyKeySpec>;
    for (const [k, v] of Object.entries(table)) {
      const field = Object.hasOwn(keys, k) ? keys[k] : undefined;
      if (field === undefined) {
        problem(`${section}.${k}`, `unknown key (known: ${Object.keys(keys).join(', ')})`);
        continue;
      }
      const target = cfg[section] as Record<string, unknown>;
      const kind = (specs[field] as AnyKeySpec).kind;
      if (kind === 'strings') {
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
          problem(`${section}.${k}`, 'must be an array of strings');
          continue;
        }
      } else if (kind === 'integer') {
        const n = typeof v === 'bigint' ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
          problem(`${section}.${k}`, 'must be a non-negative integer');
        else target[field] = n;
        continue;
      } else if (typeof v !== kind) {
        problem(`${section}.${k}`, `must be a ${kind}`);
        continue;
      }
      target[field] = v;
    }
  }
  const config = cfg as unknown as NodeConfig;
  problems.push(...configProblems(config));
  return { config, problems };
}

/** Merges a parsed TOML document over the defaults, checking every key and type. */
export function configFromToml(doc: Record<string, unknown>, moniker?: string): NodeConfig {
  const { config, problems } = checkConfigToml(doc, moniker);
  throwFirst(problems);
  return config;
}

export function validate(c: NodeConfig): void {
  throwFirst(configProblems(c));
}

/** The config as a TOML document: every section and key, in schema order. */
function toDocument(c: NodeConfig): Record<string, Record<string, unknown>> {
  const doc: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(KEYS)) {
    doc[section] = {};
    for (const [tomlKey, field] of Object.entries(keys)) {
      (doc[section] as Record<string, unknown>)[tomlKey] = (
        c[section as ConfigSection] as unknown as Record<string, unknown>
      )[field];
    }
  }
  return doc;
}

export function configToToml(c: NodeConfig): string {
  return `# Verity node configuration. Every key is optional; these are the values in effect.\n${stringifyToml(toDocument(c))}\n`;
}

/** The TOML document in `path` (a ConfigError if it cannot be read or is not TOML). */
export async function readConfigDocument(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    throw new ConfigError('CONFIG_INVALID', `cannot read ${path}: ${errno ?? (e as Error).message}`, {
      path,
      ...(errno === undefined ? {} : { errno }),
    });
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${path} is not valid TOML: ${(e as Error).message.split('\n')[0]}`,
      { path },
    );
  }
}

export async function loadConfig(path: string, moniker?: string): Promise<NodeConfig> {
  return configFromToml(await readConfigDocument(path), moniker);
}

/** `--set section.key=value` overrides from the command line, typed like the config. */
export function applyOverrides(c: NodeConfig, overrides: readonly string[]): NodeConfig {
  const doc = toDocument(c);
  for (const o of overrides) {
    // Section and key names are lower-case identifiers that may hold digits ("p2p").
    const m = /^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)=(.*)$/s.exec(o);
    if (!m) throw bad(o, 'overrides look like section.key=value');
    const [, section, key, raw] = m as unknown as [string, string, string, string];
    const table = Object.hasOwn(doc, section) ? doc[section] : undefined;
    if (table === undefined)
      throw bad(`${section}.${key}`, `unknown section (known: ${SECTIONS.join(', ')})`);
    if (!Object.hasOwn(table, key))
      throw bad(`${section}.${key}`, `unknown key (known: ${Object.keys(table).join(', ')})`);
    const kind = (keySpec(`${section}.${key}`) as AnyKeySpec).kind;
    if (kind === 'integer') {
      if (!/^\d{1,16}$/.test(raw))
        throw bad(`${section}.${key}`, `must be a non-negative integer, got "${raw}"`);
      table[key] = Number(raw);
    } else if (kind === 'boolean') {
      if (raw !== 'true' && raw !== 'false')
        throw bad(`${section}.${key}`, `must be true or false, got "${raw}"`);
      table[key] = raw === 'true';
    } else if (kind === 'strings') {
      table[key] = raw.split(',').filter(Boolean);
    } else {
      table[key] = raw;
    }
  }
  return configFromToml(doc, c.node.moniker);
}
