/** The CLI's human renderings of node answers (cli/commands/render.ts); --json prints the answers. */
import { describe, expect, it } from 'vitest';
import {
  operation,
  renderAccount,
  renderBlock,
  renderRecord,
  renderStatus,
  renderTx,
  table,
  when,
} from '../../cli/commands/render.ts';

const NOW = Date.UTC(2026, 11, 2, 18, 0, 0);
const HASH = 'ab'.repeat(32);

describe('human output of the query commands', () => {
  it('status: aligned fields, the full latest hash, an ISO time with its age, a full node said so', () => {
    const text = renderStatus(
      {
        chainId: 'c',
        engine: 'raft',
        height: 7,
        latestHash: HASH,
        latestTime: NOW - 1500,
        logSize: 3,
        logRoot: HASH,
        stateRoot: HASH,
        genesisHash: HASH,
        round: 2,
        step: 'leader',
        leader: 1,
        viewChanges: 4,
        validator: null,
        peers: 3,
        syncing: true,
        mempool: { size: 2, bytes: 2048 },
      },
      NOW,
    );
    expect(text.split('\n')).toEqual([
      'chain       c (raft)',
      'height      7  (syncing)',
      `latest      ${HASH}`,
      'time        2026-12-02T17:59:58.500Z (1.5 s ago)',
      'round       2 leader, leader #1, 4 view changes',
      'validator   no (a full node)',
      'peers       3',
      'mempool     2 txs, 2.0 KiB',
      'state root  abababababababab…',
      'log         3 entries, root abababababababab…',
      'genesis     abababababababab…',
    ]);
  });

  it('block: header fields, then one table row per transaction', () => {
    const text = renderBlock(
      {
        height: 5,
        hash: HASH,
        header: {
          parentHash: HASH,
          time: NOW,
          proposer: 'verity1p',
          engine: 'pbft',
          txCount: 2,
          stateRoot: HASH,
          logSize: 9,
          logRoot: HASH,
        },
        txs: [
          { id: HASH, from: 'verity1a', nonce: 0, op: { type: 'transfer', to: 'verity1b', amount: '5' } },
          { id: HASH, from: 'verity1long', nonce: 12, op: { type: 'put', key: 'k', value: 'v' } },
        ],
        certificate: 'ff'.repeat(100),
      },
      NOW,
    );
    expect(text).toContain('certificate  100 B');
    expect(text.split('\n').slice(-3)).toEqual([
      '#  TX                 FROM         NONCE  OPERATION',
      '0  abababababababab…  verity1a     0      transfer 5 to verity1b',
      '1  abababababababab…  verity1long  12     put "k" = "v"',
    ]);
    expect(renderBlock({ height: 1, hash: HASH, header: {}, txs: [] }, NOW)).not.toContain('OPERATION');
  });

  it('tx, account and record: their facts in words', () => {
    expect(
      renderTx({
        id: 'i',
        from: 'f',
        nonce: 1,
        op: { type: 'stake', amount: '9' },
        height: 3,
        position: 0,
        logIndex: 7,
        receipt: { ok: false, error: 'INSUFFICIENT_FUNDS' },
      }),
    ).toBe(
      [
        'id         i',
        'from       f',
        'nonce      1',
        'operation  stake 9',
        'block      3, position 0',
        'log index  7',
        'receipt    failed: INSUFFICIENT_FUNDS',
      ].join('\n'),
    );
    expect(
      renderAccount({
        address: 'a',
        balance: '10',
        stake: '0',
        nonce: 2,
        nextNonce: 3,
        height: 8,
        consistency: 'lease',
      }),
    ).toContain('nonce      2 committed, next 3\nat height  8 (lease read)');
    expect(
      renderRecord({
        key: 'doc',
        value: 'hi',
        valueHex: '6869',
        owner: 'o',
        height: 4,
        consistency: 'local',
      }),
    ).toBe(
      [
        'key        "doc"',
        'value      "hi"',
        'value hex  6869',
        'owner      o',
        'at height  4 (local read)',
      ].join('\n'),
    );
  });

  it('an operation it does not know is shown as JSON, not dropped; ages in minutes and the future', () => {
    expect(operation({ type: 'bond', validator: 'v' })).toBe('{"type":"bond","validator":"v"}');
    expect(when(NOW - 600_000, NOW)).toBe('2026-12-02T17:50:00.000Z (10 min ago)');
    expect(when(NOW + 5000, NOW)).toBe('2026-12-02T18:00:05.000Z (in the future)');
    expect(table(['A', 'BB'], [['xyz', '1']])).toBe('A    BB\nxyz  1');
  });
});
