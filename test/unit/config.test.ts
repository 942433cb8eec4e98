/**
 * Node configuration: TOML round trip, `--set section.key=value` overrides for every section
 * (including "p2p", whose name holds a digit), strict type coercion, and typed errors that name
 * the offending key.
 */
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_TX_BYTES } from '../../ledger/tx.ts';
import {
  applyOverrides,
  ConfigError,
  configFromToml,
  configToToml,
  defaultConfig,
  type NodeConfig,
  verifyThreadCount,
} from '../../src/node/config.ts';

const PEER = `12D3KooW${'A'.repeat(44)}@/ip4/127.0.0.1/tcp/26656`;

function rejects(f: () => unknown, key: string): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a ConfigError for ${key}`).toBeInstanceOf(ConfigError);
  expect((caught as ConfigError).code).toBe('CONFIG_INVALID');
  expect((caught as ConfigError).message).toContain(key);
}

describe('node config', () => {
  it('round-trips through TOML, and every section and key is written', () => {
    const c = defaultConfig('n1');
    const text = configToToml(c);
    expect(configFromToml(parseToml(text) as Record<string, unknown>)).toEqual(c);
    for (const section of ['node', 'p2p', 'rpc', 'mempool', 'consensus', 'storage'])
      expect(text).toContain(`[${section}]`);
    expect(text).toContain(`max_tx_bytes = ${DEFAULT_MAX_TX_BYTES}`);
  });

  it('the transaction size cap defaults to the protocol maximum (64 KiB) and can be lowered', () => {
    expect(defaultConfig().mempool.maxTxBytes).toBe(DEFAULT_MAX_TX_BYTES);
    expect(DEFAULT_MAX_TX_BYTES).toBe(64 * 1024);
    expect(applyOverrides(defaultConfig(), ['mempool.max_tx_bytes=32768']).mempool.maxTxBytes).toBe(32768);
    const fromToml = configFromToml({ mempool: { max_tx_bytes: 20_000 } });
    expect(fromToml.mempool.maxTxBytes).toBe(20_000);
    // It must admit some transaction, fit an RPC body (as hex), and never exceed what a block may
    // carry on every validator (the protocol maximum), even with larger frames and bodies.
    rejects(() => applyOverrides(defaultConfig(), ['mempool.max_tx_bytes=10']), 'mempool.max_tx_bytes');
    rejects(() => applyOverrides(defaultConfig(), ['rpc.max_body_bytes=65536']), 'mempool.max_tx_bytes');
    rejects(
      () =>
        applyOverrides(defaultConfig(), [
          'p2p.max_tx_frame_bytes=1048576',
          'rpc.max_body_bytes=2097152',
          'mempool.max_tx_bytes=524288',
        ]),
      'mempool.max_tx_bytes',
    );
  });

  it('node.verify_threads: "auto" leaves a core to the event loop (at most 4), or an explicit count 0–64', () => {
    expect(defaultConfig().node.verifyThreads).toBe('auto');
    expect([1, 2, 5, 16].map((cores) => verifyThreadCount('auto', cores))).toEqual([0, 1, 4, 4]);
    for (const ok of ['0', '3', '64'])
      expect(
        verifyThreadCount(
          applyOverrides(defaultConfig(), [`node.verify_threads=${ok}`]).node.verifyThreads,
          2,
        ),
      ).toBe(Number(ok));
    for (const bad of ['65', '-1', '03', 'two', '', '1.5', ' 2'])
      rejects(() => applyOverrides(defaultConfig(), [`node.verify_threads=${bad}`]), 'node.verify_threads');
  });

  it('--set overrides a key of every section, typed like the config', () => {
    const c = applyOverrides(defaultConfig('n0'), [
      'node.moniker=validator-7',
      'node.log_level=debug',
      'node.log_format=pretty',
      'p2p.listen=/ip4/0.0.0.0/tcp/30303',
      `p2p.peers=${PEER},${PEER.replace('AAAA', 'BBBB')}`,
      'p2p.allow_non_validators=true',
      'p2p.max_sync_frame_bytes=1048576',
      'rpc.listen=0.0.0.0:8080',
      'rpc.commit_timeout_ms=5000',
      'mempool.max_txs=10',
      'mempool.future_nonce_window=0',
      'consensus.max_block_txs=1',
      'consensus.status_interval_ms=250',
      'storage.sync=false',
    ]);
    const expected: NodeConfig = {
      ...defaultConfig('n0'),
      node: { moniker: 'validator-7', logLevel: 'debug', logFormat: 'pretty', verifyThreads: 'auto' },
      p2p: {
        ...defaultConfig().p2p,
        listen: '/ip4/0.0.0.0/tcp/30303',
        peers: [PEER, PEER.replace('AAAA', 'BBBB')],
        allowNonValidators: true,
        maxSyncFrameBytes: 1048576,
      },
      rpc: { ...defaultConfig().rpc, listen: '0.0.0.0:8080', commitTimeoutMs: 5000 },
      mempool: { ...defaultConfig().mempool, maxTxs: 10, futureNonceWindow: 0 },
      consensus: { ...defaultConfig().consensus, maxBlockTxs: 1, statusIntervalMs: 250 },
      storage: { sync: false },
    };
    expect(c).toEqual(expected);
    expect(typeof c.p2p.allowNonValidators).toBe('boolean');
    expect(typeof c.rpc.commitTimeoutMs).toBe('number');
    // Later overrides win; an empty list value clears the peers; '=' may appear in a value.
    expect(applyOverrides(defaultConfig(), ['mempool.max_txs=5', 'mempool.max_txs=6']).mempool.maxTxs).toBe(
      6,
    );
    expect(applyOverrides(c, ['p2p.peers=']).p2p.peers).toEqual([]);
    expect(applyOverrides(defaultConfig(), ['node.moniker=a=b']).node.moniker).toBe('a=b');
    // The input config is not mutated.
    const base = defaultConfig();
    applyOverrides(base, ['storage.sync=false']);
    expect(base.storage.sync).toBe(true);
  });

  it('rejects unknown sections and keys, including inherited object properties', () => {
    rejects(() => applyOverrides(defaultConfig(), ['nope.listen=1']), 'nope.listen');
    rejects(() => applyOverrides(defaultConfig(), ['p2p.nope=1']), 'p2p.nope');
    rejects(() => applyOverrides(defaultConfig(), ['rpc.constructor=1']), 'rpc.constructor');
    rejects(() => applyOverrides(defaultConfig(), ['constructor.name=x']), 'constructor.name');
    rejects(() => applyOverrides(defaultConfig(), ['p2p.max_frame_bytes=1']), 'p2p.max_frame_bytes');
    rejects(() => configFromToml({ p2p: { nope: 1 } }), 'p2p.nope');
    rejects(() => configFromToml({ mempool: { toString: 1 } }), 'mempool.toString');
    rejects(() => configFromToml({ hasOwnProperty: {} }), 'hasOwnProperty');
    rejects(() => configFromToml({ rpc: 5 }), 'rpc');
  });

  it('rejects malformed overrides and values of the wrong type', () => {
    for (const bad of [
      'p2p',
      'p2p.listen',
      '.listen=x',
      'P2P.listen=x',
      'p2p.Listen=x',
      'p2p..listen=x',
      '2p.x=1',
    ])
      rejects(() => applyOverrides(defaultConfig(), [bad]), bad);
    // Numbers: decimal digits only (no '', '1e3', '0x10', '-1', '1.5', 'abc').
    for (const v of ['', '1e3', '0x10', '-1', '1.5', 'abc', ' 5'])
      rejects(() => applyOverrides(defaultConfig(), [`mempool.max_txs=${v}`]), 'mempool.max_txs');
    // Booleans: exactly true or false.
    for (const v of ['yes', '1', 'TRUE', ''])
      rejects(() => applyOverrides(defaultConfig(), [`storage.sync=${v}`]), 'storage.sync');
    // Enumerations and shapes are validated after the merge.
    rejects(() => applyOverrides(defaultConfig(), ['node.log_level=loud']), 'node.log_level');
    rejects(() => applyOverrides(defaultConfig(), ['node.log_format=xml']), 'node.log_format');
    rejects(() => applyOverrides(defaultConfig(), ['rpc.listen=8080']), 'rpc.listen');
    rejects(() => applyOverrides(defaultConfig(), ['p2p.peers=not-a-peer']), 'p2p.peers');
    rejects(() => applyOverrides(defaultConfig(), ['consensus.max_block_txs=0']), 'consensus.max_block_txs');
    // Pacing near Algorand's 500 ms proposal wait made its periods fail in the simulator.
    rejects(
      () => applyOverrides(defaultConfig(), ['consensus.min_block_interval_ms=251']),
      'consensus.min_block_interval_ms',
    );
    expect(
      applyOverrides(defaultConfig(), ['consensus.min_block_interval_ms=250']).consensus.minBlockIntervalMs,
    ).toBe(250);
    expect(defaultConfig().consensus.minBlockIntervalMs).toBe(100);
    // The floor under load has the same bound; one at or below the minimum (never stretching) is fine.
    expect(defaultConfig().consensus.busyBlockIntervalMs).toBe(200);
    rejects(
      () => applyOverrides(defaultConfig(), ['consensus.busy_block_interval_ms=251']),
      'consensus.busy_block_interval_ms',
    );
    expect(
      applyOverrides(defaultConfig(), ['consensus.busy_block_interval_ms=250']).consensus.busyBlockIntervalMs,
    ).toBe(250);
    const noStretch = applyOverrides(defaultConfig(), [
      'consensus.min_block_interval_ms=250',
      'consensus.busy_block_interval_ms=0',
    ]).consensus;
    expect([noStretch.minBlockIntervalMs, noStretch.busyBlockIntervalMs]).toEqual([250, 0]);
    rejects(
      () => applyOverrides(defaultConfig(), ['consensus.max_block_bytes=1048576']),
      'consensus.max_block_bytes',
    );
    // TOML documents are typed too.
    rejects(() => configFromToml({ storage: { sync: 'true' } }), 'storage.sync');
    rejects(() => configFromToml({ mempool: { max_txs: -1 } }), 'mempool.max_txs');
    rejects(() => configFromToml({ mempool: { max_txs: 1.5 } }), 'mempool.max_txs');
    rejects(() => configFromToml({ p2p: { peers: [1] } }), 'p2p.peers');
  });
});
