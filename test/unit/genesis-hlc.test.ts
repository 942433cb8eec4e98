import { describe, expect, it } from 'vitest';
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { vrf } from '../../crypto/vrf.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { type GenesisError, genesisBlock, genesisToJson, parseGenesis } from '../../ledger/genesis.ts';
import { checkBlockTime, compareHlc, type HlcError, nextHlc } from '../../ledger/hlc.ts';
import { ValidatorSet } from '../../ledger/validators.ts';
import { makeTestChain } from '../helpers/chain.ts';

function genesisError(json: unknown): string | undefined {
  try {
    parseGenesis(json);
  } catch (e) {
    return (e as GenesisError).meta.path as string;
  }
  return undefined;
}

describe('genesis', () => {
  const chain = makeTestChain();
  const base = chain.genesisJson as Record<string, unknown> & {
    validators: Array<Record<string, unknown>>;
    accounts: Array<Record<string, unknown>>;
  };

  it('round-trips through JSON and yields a stable genesis hash', async () => {
    const again = parseGenesis(JSON.parse(JSON.stringify(genesisToJson(chain.genesis))));
    const a = await genesisBlock(chain.genesis);
    const b = await genesisBlock(again);
    expect(toHex(a.hash)).toBe(toHex(b.hash));
    expect(a.block.header.height).toBe(0);
  });

  it('rejects invalid genesis files and names the offending field', () => {
    const v0 = base.validators[0] as Record<string, unknown>;
    const v1 = base.validators[1] as Record<string, unknown>;
    const cases: Array<[unknown, string]> = [
      [{ ...base, version: 2 }, 'version'],
      [{ ...base, chainId: '' }, 'chainId'],
      [{ ...base, validators: [] }, 'validators'],
      [{ ...base, validators: [{ ...v0, power: 0 }] }, 'validators[0].power'],
      [{ ...base, validators: [{ ...v0, peerId: v1.peerId }] }, 'validators[0].peerId'],
      [{ ...base, validators: [{ ...v0, blsPop: v1.blsPop }] }, 'validators[0].blsPop'],
      [{ ...base, validators: [{ ...v0, publicKey: 'abcd' }] }, 'validators[0].publicKey'],
      [{ ...base, validators: [v0, v0] }, 'validators'],
      [{ ...base, accounts: [{ address: 'verity1xyz', balance: '1' }] }, 'accounts[0].address'],
      [{ ...base, accounts: [{ ...base.accounts[0], balance: '-1' }] }, 'accounts[0].balance'],
      [{ ...base, accounts: [{ ...base.accounts[0], balance: '1.5' }] }, 'accounts[0].balance'],
      [{ ...base, accounts: [base.accounts[0], base.accounts[0]] }, 'accounts[1].address'],
      [{ ...base, engine: { name: 'x', params: { nested: {} } } }, 'engine.params.nested'],
    ];
    for (const [json, path] of cases) expect(genesisError(json), path).toBe(path);
  });
});

describe('validator VRF keys (ECVRF, for sortition)', () => {
  const chain = makeTestChain({ label: 'vrf' });
  const json = chain.genesisJson as Record<string, unknown> & { validators: Array<Record<string, unknown>> };
  const vrfKey = (i: number) => vrf.publicKeyFromSecret(sha256(utf8(`vrf-test-${i}`)));
  const withVrf = (keys: Array<string | undefined>) => ({
    ...json,
    validators: json.validators.map((v, i) => (keys[i] === undefined ? v : { ...v, vrfPublicKey: keys[i] })),
  });

  it('are optional, round-trip through JSON, and are committed to by the validators hash only where present', () => {
    const keys = json.validators.map((_, i) => toHex(vrfKey(i)));
    const g = parseGenesis(withVrf(keys));
    expect(g.validators.validators.map((v) => toHex(v.vrfPublicKey as Uint8Array))).toEqual(keys);
    expect(genesisToJson(parseGenesis(JSON.parse(JSON.stringify(genesisToJson(g)))))).toEqual(
      genesisToJson(g),
    );
    const without = parseGenesis(json);
    expect(without.validators.validators.every((v) => v.vrfPublicKey === undefined)).toBe(true);
    expect('vrfPublicKey' in (genesisToJson(without).validators as Array<object>)[0]!).toBe(false);
    // A set without VRF keys keeps the hash it had before VRF keys existed.
    const old = sha256(
      concatBytes(
        utf8('verity-validators-v1'),
        rlpEncode(
          without.validators.validators.map((v) => [
            utf8(v.name),
            v.publicKey,
            v.blsPublicKey,
            utf8(v.peerId),
            v.power,
          ]),
        ),
      ),
    );
    expect(toHex(without.validators.hash)).toBe(toHex(old));
    expect(toHex(g.validators.hash)).not.toBe(toHex(old));
    const other = parseGenesis(withVrf([toHex(vrfKey(9)), ...keys.slice(1)]));
    expect(toHex(other.validators.hash)).not.toBe(toHex(g.validators.hash));
  });

  it('must be valid ECVRF keys, and never the validator’s ed25519 key', () => {
    const v0 = json.validators[0] as Record<string, unknown>;
    const smallOrder = `01${'00'.repeat(31)}`; // the identity point: small order, refused by validate_key
    for (const [bad, why] of [
      [smallOrder, /not a valid ECVRF-EDWARDS25519 key/],
      [v0.publicKey as string, /must not be the ed25519 key/],
    ] as const) {
      expect(() => parseGenesis(withVrf([bad])), bad).toThrow(why);
    }
    expect(genesisError(withVrf(['abcd']))).toBe('validators[0].vrfPublicKey');
  });
});

describe('validator set quorums (weighted)', () => {
  it('computes > 2/3, > 1/3 and > 1/2 of power', () => {
    const weighted = makeTestChain({ powers: [5, 1, 1, 1, 1, 1], validators: 6, label: 'weighted' }).genesis
      .validators;
    expect(weighted.totalPower).toBe(10);
    expect(weighted.quorumPower).toBe(7);
    expect(weighted.oneHonestPower).toBe(4);
    expect(weighted.majorityPower).toBe(6);
    expect(weighted.maxFaultyPower).toBe(3);
    expect(weighted.hasQuorum([0, 1, 2])).toBe(true); // 7
    expect(weighted.hasQuorum([1, 2, 3, 4, 5])).toBe(false); // 5: many heads, too little power
    expect(weighted.powerOf([0, 0, 0])).toBe(5); // duplicates count once
    const equal = makeTestChain({ validators: 4 }).genesis.validators;
    expect(equal.quorumPower).toBe(3);
    expect(equal.maxFaultyPower).toBe(1);
    expect(() => new ValidatorSet([])).toThrow();
  });
});

describe('hybrid logical clock', () => {
  it('advances with the physical clock, or the logical counter when the clock lags', () => {
    const parent = { ms: 1000, logical: 3 };
    expect(nextHlc(parent, 2000)).toEqual({ ms: 2000, logical: 0 });
    expect(nextHlc(parent, 999)).toEqual({ ms: 1000, logical: 4 });
    expect(nextHlc(parent, 1000)).toEqual({ ms: 1000, logical: 4 });
    expect(compareHlc(nextHlc(parent, 500), parent)).toBeGreaterThan(0);
  });

  it('rejects timestamps not after the parent or too far in the future', () => {
    const code = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        return (e as HlcError).code;
      }
      return 'OK';
    };
    const parent = { ms: 1000, logical: 0 };
    expect(code(() => checkBlockTime({ ms: 1000, logical: 1 }, parent, 1000, 50))).toBe('OK');
    expect(code(() => checkBlockTime({ ms: 1000, logical: 0 }, parent, 1000, 50))).toBe('TIME_NOT_MONOTONIC');
    expect(code(() => checkBlockTime({ ms: 999, logical: 9 }, parent, 1000, 50))).toBe('TIME_NOT_MONOTONIC');
    expect(code(() => checkBlockTime({ ms: 1051, logical: 0 }, parent, 1000, 50))).toBe('TIME_IN_FUTURE');
    expect(code(() => checkBlockTime({ ms: 1050, logical: 0 }, parent, 1000, 50))).toBe('OK');
    expect(code(() => checkBlockTime({ ms: -1, logical: 0 }, parent, 1000, 50))).toBe('TIME_INVALID');
  });
});
