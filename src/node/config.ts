/**
 * Node configuration: a TOML file per node home (config.toml) with every tunable, defaults for
 * everything, and command-line overrides on top. Validation names the offending key.
 *
 *   [node]       moniker, log_level, log_format ("json" | "pretty")
 *   [p2p]        listen, peers = ["<peerId>@/ip4/…/tcp/…"], allow_non_validators, max_frame_* …
 *   [rpc]        listen = "127.0.0.1:26657", max_body_bytes, commit_timeout_ms
 *   [mempool]    max_txs, max_bytes, max_per_sender, future_nonce_window, max_tx_bytes
 *   [consensus]  max_block_txs, max_block_bytes, max_future_drift_ms, status_interval_ms
 *   [storage]    sync (fsync every commit; never turn off for a validator)
 */
import { readFile } from 'node:fs/promises';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { VerityError } from '../../crypto/errors.ts';
import { DEFAULT_MAX_TX_BYTES } from '../../ledger/tx.ts';

export class ConfigError extends VerityError<'CONFIG_INVALID'> {}

export interface NodeConfig {
  readonly node: {
    moniker: string;
    logLevel: 'debug' | 'info' | 'warn' | 'error';
    logFormat: 'json' | 'pretty';
  };
  readonly p2p: {
    listen: string;
    peers: string[];
    allowNonValidators: boolean;
    maxConsensusFrameBytes: number;
    maxTxFrameBytes: number;
    maxSyncFrameBytes: number;
  };
  readonly rpc: { listen: string; maxBodyBytes: number; commitTimeoutMs: number };
  readonly mempool: {
    maxTxs: number;
    maxBytes: number;
    maxPerSender: number;
    futureNonceWindow: number;
    /**
     * Largest transaction (encoded bytes) this node admits over RPC and gossip. Blocks carrying a
     * larger one are invalid for a node that also validates blocks with it, so every validator of
     * a chain must use the same value.
     */
    maxTxBytes: number;
  };
  readonly consensus: {
    maxBlockTxs: number;
    maxBlockBytes: number;
    maxFutureDriftMs: number;
    statusIntervalMs: number;
  };
  readonly storage: { sync: boolean };
}

export function defaultConfig(moniker = 'node'): NodeConfig {
  return {
    node: { moniker, logLevel: 'info', logFormat: 'json' },
    p2p: {
      listen: '/ip4/127.0.0.1/tcp/26656',
      peers: [],
      allowNonValidators: false,
      maxConsensusFrameBytes: 1024 * 1024,
      maxTxFrameBytes: 128 * 1024,
      maxSyncFrameBytes: 32 * 1024 * 1024,
    },
    rpc: { listen: '127.0.0.1:26657', maxBodyBytes: 256 * 1024, commitTimeoutMs: 30_000 },
    mempool: {
      maxTxs: 20_000,
      maxBytes: 64 * 1024 * 1024,
      maxPerSender: 1024,
      futureNonceWindow: 1024,
      maxTxBytes: DEFAULT_MAX_TX_BYTES,
    },
    // Blocks must fit a consensus frame (proposals carry the block): keep max_block_bytes below it.
    // 2,000 transactions keep one block's validation well inside a round's timeouts on small machines.
    consensus: {
      maxBlockTxs: 2000,
      maxBlockBytes: 960 * 1024,
      maxFutureDriftMs: 10_000,
      statusIntervalMs: 1000,
    },
    storage: { sync: true },
  };
}

/** TOML key ↔ config field, per section. */
const KEYS: Record<keyof NodeConfig, Record<string, string>> = {
  node: { moniker: 'moniker', log_level: 'logLevel', log_format: 'logFormat' },
  p2p: {
    listen: 'listen',
    peers: 'peers',
    allow_non_validators: 'allowNonValidators',
    max_consensus_frame_bytes: 'maxConsensusFrameBytes',
    max_tx_frame_bytes: 'maxTxFrameBytes',
    max_sync_frame_bytes: 'maxSyncFrameBytes',
  },
  rpc: { listen: 'listen', max_body_bytes: 'maxBodyBytes', commit_timeout_ms: 'commitTimeoutMs' },
  mempool: {
    max_txs: 'maxTxs',
    max_bytes: 'maxBytes',
    max_per_sender: 'maxPerSender',
    future_nonce_window: 'futureNonceWindow',
    max_tx_bytes: 'maxTxBytes',
  },
  consensus: {
    max_block_txs: 'maxBlockTxs',
    max_block_bytes: 'maxBlockBytes',
    max_future_drift_ms: 'maxFutureDriftMs',
    status_interval_ms: 'statusIntervalMs',
  },
  storage: { sync: 'sync' },
};

function bad(key: string, reason: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', `config ${key}: ${reason}`, { key });
}

/** Merges a parsed TOML document over the defaults, checking every key and type. */
export function configFromToml(doc: Record<string, unknown>, moniker?: string): NodeConfig {
  const cfg = defaultConfig(moniker) as unknown as Record<string, Record<string, unknown>>;
  for (const [section, table] of Object.entries(doc)) {
    const keys = Object.hasOwn(KEYS, section) ? KEYS[section as keyof NodeConfig] : undefined;
    if (keys === undefined) throw bad(section, `unknown section (known: ${Object.keys(KEYS).join(', ')})`);
    if (typeof table !== 'object' || table === null || Array.isArray(table))
      throw bad(section, 'must be a table');
    for (const [k, v] of Object.entries(table)) {
      const field = Object.hasOwn(keys, k) ? keys[k] : undefined;
      if (field === undefined)
        throw bad(`${section}.${k}`, `unknown key (known: ${Object.keys(keys).join(', ')})`);
      const target = cfg[section] as Record<string, unknown>;
      const current = target[field];
      if (Array.isArray(current)) {
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
          throw bad(`${section}.${k}`, 'must be an array of strings');
      } else if (typeof current === 'number') {
        const n = typeof v === 'bigint' ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
          throw bad(`${section}.${k}`, 'must be a non-negative integer');
        target[field] = n;
        continue;
      } else if (typeof current !== typeof v) {
        throw bad(`${section}.${k}`, `must be a ${typeof current}`);
      }
      target[field] = v;
    }
  }
  const out = cfg as unknown as NodeConfig;
  validate(out);
  return out;
}

export function validate(c: NodeConfig): void {
  if (!['debug', 'info', 'warn', 'error'].includes(c.node.logLevel))
    throw bad('node.log_level', 'must be debug, info, warn or error');
  if (!['json', 'pretty'].includes(c.node.logFormat)) throw bad('node.log_format', 'must be json or pretty');
  if (!/^[^:]+:\d{1,5}$/.test(c.rpc.listen)) throw bad('rpc.listen', 'must be host:port');
  if (c.consensus.maxBlockBytes + 64 * 1024 > c.p2p.maxConsensusFrameBytes) {
    throw bad(
      'consensus.max_block_bytes',
      'must leave 64 KiB of room below p2p.max_consensus_frame_bytes (proposals carry blocks)',
    );
  }
  if (c.consensus.maxBlockTxs < 1) throw bad('consensus.max_block_txs', 'must be at least 1');
  const tx = c.mempool.maxTxBytes;
  if (tx < MIN_TX_BYTES) throw bad('mempool.max_tx_bytes', `must be at least ${MIN_TX_BYTES}`);
  // Admission only: block validity uses the protocol maximum, the same on every validator, so a
  // node with a larger setting would admit transactions no block may carry.
  if (tx > DEFAULT_MAX_TX_BYTES)
    throw bad(
      'mempool.max_tx_bytes',
      `must not exceed the protocol maximum of ${DEFAULT_MAX_TX_BYTES} bytes`,
    );
  // A transaction must fit every path it travels: a gossip frame (plus batch framing), an RPC body
  // (hex doubles it, plus the JSON around it), a block, and the mempool itself.
  if (tx + 1024 > c.p2p.maxTxFrameBytes)
    throw bad('mempool.max_tx_bytes', 'must leave 1 KiB of room below p2p.max_tx_frame_bytes');
  if (2 * tx + 1024 > c.rpc.maxBodyBytes)
    throw bad('mempool.max_tx_bytes', 'a hex-encoded transaction must fit rpc.max_body_bytes (2 × + 1 KiB)');
  if (tx > c.consensus.maxBlockBytes)
    throw bad('mempool.max_tx_bytes', 'must not exceed consensus.max_block_bytes');
  if (tx > c.mempool.maxBytes) throw bad('mempool.max_tx_bytes', 'must not exceed mempool.max_bytes');
  for (const p of c.p2p.peers) {
    if (!/^[1-9A-HJ-NP-Za-km-z]{40,64}@\/.+/.test(p))
      throw bad('p2p.peers', `"${p}" must look like <peerId>@<multiaddr>`);
  }
}

/** Smaller than any signed transaction with an operation: a cap below it would admit nothing. */
const MIN_TX_BYTES = 256;

export function configToToml(c: NodeConfig): string {
  const doc: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(KEYS)) {
    doc[section] = {};
    for (const [tomlKey, field] of Object.entries(keys)) {
      (doc[section] as Record<string, unknown>)[tomlKey] = (
        c[section as keyof NodeConfig] as unknown as Record<string, unknown>
      )[field];
    }
  }
  return `# Verity node configuration. Every key is optional; these are the values in effect.\n${stringifyToml(doc)}\n`;
}

export async function loadConfig(path: string, moniker?: string): Promise<NodeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${path} is not valid TOML: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  return configFromToml(doc, moniker);
}

/** `--set section.key=value` overrides from the command line, typed like the config. */
export function applyOverrides(c: NodeConfig, overrides: readonly string[]): NodeConfig {
  const doc: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(KEYS)) {
    doc[section] = {};
    for (const [tomlKey, field] of Object.entries(keys)) {
      (doc[section] as Record<string, unknown>)[tomlKey] = (
        c[section as keyof NodeConfig] as unknown as Record<string, unknown>
      )[field];
    }
  }
  for (const o of overrides) {
    // Section and key names are lower-case identifiers that may hold digits ("p2p").
    const m = /^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)=(.*)$/s.exec(o);
    if (!m) throw bad(o, 'overrides look like section.key=value');
    const [, section, key, raw] = m as unknown as [string, string, string, string];
    const table = Object.hasOwn(doc, section) ? doc[section] : undefined;
    if (table === undefined)
      throw bad(`${section}.${key}`, `unknown section (known: ${Object.keys(KEYS).join(', ')})`);
    if (!Object.hasOwn(table, key))
      throw bad(`${section}.${key}`, `unknown key (known: ${Object.keys(table).join(', ')})`);
    const current = table[key];
    if (typeof current === 'number') {
      if (!/^\d{1,16}$/.test(raw))
        throw bad(`${section}.${key}`, `must be a non-negative integer, got "${raw}"`);
      table[key] = Number(raw);
    } else if (typeof current === 'boolean') {
      if (raw !== 'true' && raw !== 'false')
        throw bad(`${section}.${key}`, `must be true or false, got "${raw}"`);
      table[key] = raw === 'true';
    } else if (Array.isArray(current)) {
      table[key] = raw.split(',').filter(Boolean);
    } else {
      table[key] = raw;
    }
  }
  return configFromToml(doc, c.node.moniker);
}
