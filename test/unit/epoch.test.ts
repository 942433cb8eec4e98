/**
 * The runtime's epoch (src/runtime/epoch.ts): which set an engine instance runs with, from where,
 * and with this node in which place; and the engine's WAL records kept apart per epoch.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../crypto/bytes.ts';
import { InvariantError } from '../../crypto/errors.ts';
import type { ChainStore } from '../../ledger/chain.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { peerIdFromEd25519, type Validator, ValidatorSet } from '../../ledger/validators.ts';
import {
  ALL_ENGINE_RECORDS,
  engineRecordKey,
  engineRecordsPrefix,
  epochAfterHead,
  forgetEngineRecordsBefore,
  genesisEpoch,
  readEngineRecords,
} from '../../src/runtime/epoch.ts';
import { makeTestChain, testKey } from '../helpers/chain.ts';

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('the genesis epoch', () => {
  const chain = makeTestChain({ validators: 4 });

  it('places a validator by its key, and anyone else nowhere', () => {
    const e = genesisEpoch(chain.genesis, chain.validators[2]?.secretKey);
    expect(e.epoch).toBe(0);
    expect(e.validators).toBe(chain.genesis.validators);
    expect(e.self).toBe(2);
    expect(e.selfAddress).toEqual(chain.genesis.validators.at(2)?.address);
    expect(e.base.height).toBe(0);
    for (const outsider of [testKey('not a validator').secretKey, undefined]) {
      const o = genesisEpoch(chain.genesis, outsider);
      expect(o.self).toBeUndefined();
      expect(o.selfAddress).toBeUndefined();
    }
  });
});

describe('the epoch after the head', () => {
  const first = makeTestChain({ validators: 4, label: 'first' });
  const joiner = testKey('joiner');
  // Epoch 2's set: validators 1–3 of the first, and a newcomer in validator 0's place (its BLS
  // key reused: validator 0 has left).
  const [leaver, ...stayers] = first.genesis.validators.validators;
  const later = new ValidatorSet([
    ...stayers,
    {
      ...(leaver as Validator),
      name: 'joiner',
      publicKey: joiner.publicKey,
      peerId: peerIdFromEd25519(joiner.publicKey),
    },
  ]);
  const genesis = { ...first.genesis, staking: { epochLength: 10 } } as unknown as Genesis;
  const baseHash = new Uint8Array(32).fill(7);
  // The chain's answers for the block after the head only (height + 1): the set at the boundary
  // is the next epoch's, which asking for the head itself would miss.
  const stub = (height: number, history: Map<number, Uint8Array>) =>
    ({
      height,
      epochOf: (h: number) => {
        expect(h).toBe(height + 1);
        return Math.floor((h - 1) / 10);
      },
      validatorsFor: async (h: number) => {
        expect(h).toBe(height + 1);
        return later;
      },
      history: { getEntry: async (i: number) => history.get(i) },
    }) as unknown as ChainStore;

  it("starts from the epoch's base block with the epoch's set, and places this node in it", async () => {
    const e = await epochAfterHead(stub(20, new Map([[20, baseHash]])), genesis, joiner.secretKey);
    expect(e.epoch).toBe(2);
    expect(e.validators).toBe(later);
    expect(e.base).toEqual({ height: 20, hash: baseHash });
    expect(e.self).toBe(3);
    expect(e.selfAddress).toEqual(later.at(3)?.address);
    // Validator 0 of the first set left: it is no one in epoch 2.
    const left = await epochAfterHead(
      stub(20, new Map([[20, baseHash]])),
      genesis,
      first.validators[0]?.secretKey,
    );
    expect(left.self).toBeUndefined();
  });

  it('without staking the base is the genesis block', async () => {
    const plain = { ...first.genesis } as Genesis;
    const genesisHash = new Uint8Array(32).fill(9);
    const e = await epochAfterHead(stub(0, new Map([[0, genesisHash]])), plain, joiner.secretKey);
    expect(e.base).toEqual({ height: 0, hash: genesisHash });
  });

  it('a base block missing from the history is a fault of this node', async () => {
    await expect(epochAfterHead(stub(20, new Map()), genesis, joiner.secretKey)).rejects.toThrow(
      InvariantError,
    );
  });
});

describe("the engine's records, per epoch", () => {
  it('epoch 0 keeps the original prefix; later epochs have their own, all under one prefix', () => {
    expect(text(engineRecordsPrefix(0))).toBe('w/engine/');
    expect(text(engineRecordsPrefix(3))).toBe('w/engine@3/');
    expect(text(engineRecordKey(3, 'state'))).toBe('w/engine@3/state');
    expect(text(ALL_ENGINE_RECORDS)).toBe('w/engine');
    for (const e of [0, 1, 12])
      expect(text(engineRecordsPrefix(e)).startsWith(text(ALL_ENGINE_RECORDS))).toBe(true);
  });

  async function walWith(records: ReadonlyArray<[number, string, string]>): Promise<MemoryKvStore> {
    const wal = new MemoryKvStore();
    await wal.batch(
      records.map(([epoch, key, value]) => ({
        type: 'put' as const,
        key: engineRecordKey(epoch, key),
        value: utf8(value),
      })),
    );
    return wal;
  }

  it("reads one epoch's records by the engine's keys — not epoch 10's when asked for epoch 1", async () => {
    const wal = await walWith([
      [0, 'state', 'zero'],
      [1, 'state', 'one'],
      [1, 'vote/5', 'v'],
      [10, 'state', 'ten'],
    ]);
    const one = await readEngineRecords(wal, 1);
    expect([...one.keys()].sort()).toEqual(['state', 'vote/5']);
    expect(text(one.get('state') as Uint8Array)).toBe('one');
    expect(text((await readEngineRecords(wal, 0)).get('state') as Uint8Array)).toBe('zero');
    expect(text((await readEngineRecords(wal, 10)).get('state') as Uint8Array)).toBe('ten');
  });

  it('entering epoch e forgets epoch e − 2 only: e − 1 may run again after a crash', async () => {
    const wal = await walWith([
      [0, 'state', 'zero'],
      [1, 'state', 'one'],
      [2, 'state', 'two'],
      [3, 'state', 'three'],
      [11, 'state', 'eleven'],
    ]);
    await forgetEngineRecordsBefore(wal, 1); // nothing two back
    expect((await readEngineRecords(wal, 0)).size).toBe(1);
    await forgetEngineRecordsBefore(wal, 2);
    expect((await readEngineRecords(wal, 0)).size).toBe(0);
    expect((await readEngineRecords(wal, 1)).size).toBe(1);
    await forgetEngineRecordsBefore(wal, 3);
    expect((await readEngineRecords(wal, 1)).size).toBe(0);
    expect((await readEngineRecords(wal, 2)).size).toBe(1);
    expect((await readEngineRecords(wal, 3)).size).toBe(1);
    expect((await readEngineRecords(wal, 11)).size).toBe(1);
  });

  it('after a jump across epochs (state sync), every epoch before the last is forgotten, and nothing else', async () => {
    const wal = await walWith([
      [0, 'state', 'zero'],
      [1, 'state', 'one'],
      [3, 'state', 'three'],
      [4, 'state', 'four'],
      [5, 'state', 'five'],
    ]);
    await wal.batch([{ type: 'put', key: utf8('w/meta/format'), value: utf8('1') }]);
    await forgetEngineRecordsBefore(wal, 5);
    for (const gone of [0, 1, 3]) expect((await readEngineRecords(wal, gone)).size).toBe(0);
    for (const kept of [4, 5]) expect((await readEngineRecords(wal, kept)).size).toBe(1);
    expect(await wal.get(utf8('w/meta/format'))).toBeDefined();
  });
});
