// The offline CLI end to end: real processes, real files.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealEnvelope } from '../../consensus/envelope.ts';
import { encodeEquivocation, equivocation } from '../../consensus/evidence.ts';
import { tendermintCodec } from '../../consensus/tendermint/messages.ts';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { parseAddress } from '../../ledger/address.ts';
import {
  commitVoteBytes,
  LEDGER_CERTIFICATE_SCHEMES,
  type QuorumCertificate,
} from '../../ledger/certificate.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { parseGenesis } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { buildTxProof } from '../../ledger/proofs.ts';
import { decodeTransaction, verifyTransaction } from '../../ledger/tx.ts';
import { operationToJson } from '../../ledger/tx-json.ts';
import { loadKey } from '../../src/keystore.ts';
import { parseJsonOutput, runVerity } from '../helpers/cli.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verity-cli-'));
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
});

describe('verity CLI (offline commands)', () => {
  it('prints help, and exits 2 on usage errors', async () => {
    const help = await runVerity(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('genesis init');
    const sub = await runVerity(['tx', 'sign', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--chain-id');
    expect((await runVerity(['nope'])).code).toBe(2);
    expect((await runVerity(['tx', 'sign', '--bogus'])).code).toBe(2);
    expect((await runVerity(['genesis', 'init', '--chain-id', 'x'])).code).toBe(2);
  });

  it('generates keys (plain and encrypted) and shows them', async () => {
    const plain = join(dir, 'k1.json');
    const gen = parseJsonOutput(await runVerity(['keys', 'generate', '--out', plain, '--json']));
    expect(gen.address).toMatch(/^verity1/);
    const shown = parseJsonOutput(await runVerity(['keys', 'show', plain, '--json']));
    expect(shown.address).toBe(gen.address);
    expect(shown.peerId).toMatch(/^12D3KooW/);
    const enc = join(dir, 'k2.json');
    expect(
      (await runVerity(['keys', 'generate', '--out', enc, '--passphrase-env', 'PW'], { env: { PW: 'pw' } }))
        .code,
    ).toBe(0);
    expect((await runVerity(['keys', 'show', enc])).code).toBe(1);
    const wrong = await runVerity(['keys', 'show', enc, '--passphrase-env', 'PW'], { env: { PW: 'nope' } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('wrong passphrase');
    expect(
      (await runVerity(['keys', 'show', enc, '--passphrase-env', 'PW'], { env: { PW: 'pw' } })).code,
    ).toBe(0);
  });

  it('keys generate refuses to overwrite an existing key file (exit 2) unless --force', async () => {
    const path = join(dir, 'keep.json');
    const first = parseJsonOutput(await runVerity(['keys', 'generate', '--out', path, '--json']));
    const again = await runVerity(['keys', 'generate', '--out', path]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect(parseJsonOutput(await runVerity(['keys', 'show', path, '--json'])).address).toBe(first.address);
    const forced = parseJsonOutput(await runVerity(['keys', 'generate', '--out', path, '--force', '--json']));
    expect(forced.address).not.toBe(first.address);
    expect(parseJsonOutput(await runVerity(['keys', 'show', path, '--json'])).address).toBe(forced.address);
  });

  it('an unset --passphrase-env variable is a usage error (exit 2) for every command that takes it', async () => {
    const key = join(dir, 'pp.json');
    expect((await runVerity(['keys', 'generate', '--out', key])).code).toBe(0);
    const unset = ['--passphrase-env', 'VERITY_TEST_SURELY_UNSET_VAR'];
    const runs = await Promise.all([
      runVerity(['keys', 'generate', '--out', join(dir, 'pp2.json'), ...unset]),
      runVerity(['keys', 'show', key, ...unset]),
      runVerity(['tx', 'sign', '--key', key, '--chain-id', 'c', '--nonce', '0', '--stake', '1', ...unset]),
      runVerity(['tx', 'send', '--key', key, '--stake', '1', '--rpc', 'http://127.0.0.1:9', ...unset]),
      runVerity([
        'genesis',
        'init',
        '--chain-id',
        'c',
        '--validators',
        '1',
        '--out',
        join(dir, 'pp-g'),
        ...unset,
      ]),
      runVerity(['start', '--home', join(dir, 'no-home'), ...unset]),
    ]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('VERITY_TEST_SURELY_UNSET_VAR');
    }
    expect(existsSync(join(dir, 'pp2.json'))).toBe(false);
    expect(existsSync(join(dir, 'pp-g'))).toBe(false);
  });

  it('an out-of-range amount is a usage error (exit 2) in tx sign and tx send; usage lines show [--json]', async () => {
    const key = join(dir, 'amt.json');
    const to = parseJsonOutput(await runVerity(['keys', 'generate', '--out', key, '--json']))
      .address as string;
    const tooBig = (2n ** 128n).toString();
    const sign = (op: string[], chainId = 'c') =>
      runVerity(['tx', 'sign', '--key', key, '--chain-id', chainId, '--nonce', '0', ...op]);
    const usage: Array<[string, Promise<{ code: number; stderr: string }>]> = [
      ['--amount 2^128', sign(['--to', to, '--amount', tooBig])],
      ['--stake 2^128', sign(['--stake', tooBig])],
      ['--unstake 10^100', sign(['--unstake', '9'.repeat(100)])],
      ['--put 257-byte key', sign(['--put', `${'k'.repeat(257)}=v`])],
      ['--chain-id 65 bytes', sign(['--stake', '1'], 'c'.repeat(65))],
      [
        'tx send --amount 2^128',
        runVerity([
          'tx',
          'send',
          '--key',
          key,
          '--to',
          to,
          '--amount',
          tooBig,
          '--rpc',
          'http://127.0.0.1:9',
        ]),
      ],
      ['proof verify without arguments', runVerity(['proof', 'verify'])],
    ];
    const [maxOk, help] = await Promise.all([
      sign(['--to', to, '--amount', (2n ** 128n - 1n).toString()]),
      runVerity(['proof', 'verify', '--help']),
    ]);
    for (const [what, run] of usage) {
      const r = await run;
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      // Every usage line (help and errors) shows [--json].
      expect(r.stderr, what).toContain('[--json]');
    }
    expect(maxOk.code).toBe(0);
    expect(help.stdout).toContain('Usage: verity proof verify BUNDLE.json --genesis GENESIS.json [--json]');
  });

  it('tx sign --membership: addresses (verity1… or hex) offline; names, duplicates and stray flags are usage errors', async () => {
    const key = join(dir, 'membership.json');
    const voter = parseJsonOutput(await runVerity(['keys', 'generate', '--out', key, '--json']))
      .address as string;
    const learner = parseJsonOutput(
      await runVerity(['keys', 'generate', '--out', join(dir, 'membership-2.json'), '--json']),
    ).address as string;
    const hexOf = (address: string) => toHex(parseAddress(address));
    const sign = (...op: string[]) =>
      runVerity(['tx', 'sign', '--key', key, '--chain-id', 'c', '--nonce', '0', '--json', ...op]);
    const ok = await sign('--membership', '--voters', `0x${hexOf(voter)}`, '--learners', learner);
    expect(ok.code, ok.stderr).toBe(0);
    const json = parseJsonOutput<{ op: unknown; raw: string }>(ok);
    expect(json.op).toEqual({ type: 'membership', voters: [voter], learners: [learner] });
    expect(operationToJson(decodeTransaction(fromHex(json.raw)).tx.op)).toEqual(json.op);
    const usage: Array<[string, string[], string]> = [
      ['a name offline', ['--membership', '--voters', 'node0'], 'validator names need a node'],
      ['no voters', ['--membership', '--learners', learner], '--membership needs --voters'],
      ['named twice', ['--membership', '--voters', `${voter},${hexOf(voter)}`], 'names the same validator'],
      [
        'voter and learner',
        ['--membership', '--voters', voter, '--learners', voter],
        'names the same validator',
      ],
      ['--voters alone', ['--voters', voter], '--voters and --learners only go with --membership'],
      ['a bad address', ['--membership', '--voters', 'verity1qqqq'], '--voters:'],
      ['an empty entry', ['--membership', '--voters', `${voter},`], 'has an empty entry'],
    ];
    for (const [what, op, message] of usage) {
      const r = await sign(...op);
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stderr, what).toContain(message);
    }
  });

  it('genesis init: an unknown engine, bad engine parameters or an over-long chain id exit 2 and write nothing', async () => {
    const cases: string[][] = [
      ['--chain-id', 'c', '--engine', 'nope'],
      ['--chain-id', 'c', '--engine', 'hotstuff:qc=nope'],
      ['--chain-id', 'c', '--engine', 'tendermint:bogus=1'],
      ['--chain-id', 'c'.repeat(65)],
      ['--chain-id', 'é'.repeat(33)], // 66 bytes of UTF-8
    ];
    const runs = await Promise.all(
      cases.map((args, i) =>
        runVerity(['genesis', 'init', '--validators', '2', '--out', join(dir, `bad-genesis-${i}`), ...args]),
      ),
    );
    for (const [i, r] of runs.entries()) {
      const args = cases[i] as string[];
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(existsSync(join(dir, `bad-genesis-${i}`)), args.join(' ')).toBe(false);
    }
    const unknown = runs[0] as { stderr: string };
    expect(unknown.stderr).toContain('unknown engine "nope"');
    expect(unknown.stderr).toContain('hotstuff');
  });

  it('genesis init refuses an existing chain directory (exit 2) and keeps its keys, unless --force', async () => {
    const out = join(dir, 'twice');
    const args = [
      'genesis',
      'init',
      '--chain-id',
      'twice',
      '--validators',
      '2',
      '--accounts',
      '1',
      '--out',
      out,
    ];
    expect((await runVerity(args)).code).toBe(0);
    const files = [
      join(out, 'genesis.json'),
      join(out, 'node0', 'keys', 'ed25519.json'),
      join(out, 'node1', 'keys', 'bls.json'),
      join(out, 'accounts', 'account0.json'),
    ];
    const before = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    // Again — and with a different validator count: no existing key is touched.
    const [again, more] = await Promise.all([
      runVerity(args),
      runVerity([...args.slice(0, 4), '--validators', '3', ...args.slice(6)]),
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect(more.code).toBe(2);
    expect(await Promise.all(files.map((f) => readFile(f, 'utf8')))).toEqual(before);
    expect(existsSync(join(out, 'node2'))).toBe(false);
    const forced = await runVerity([...args, '--force']);
    expect(forced.code).toBe(0);
    const after = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    for (const [i, f] of files.entries()) expect(after[i], f).not.toBe(before[i]);
  });

  it('genesis init → tx sign → proof verify: valid bundle exits 0, tampered exits 1', async () => {
    const out = join(dir, 'chain');
    const init = await runVerity([
      'genesis',
      'init',
      '--chain-id',
      'cli-test',
      '--validators',
      '4',
      '--out',
      out,
      '--json',
    ]);
    expect(init.code).toBe(0);
    const built = parseJsonOutput<{ genesis: string; accounts: Array<{ keyFile: string; address: string }> }>(
      init,
    );
    const [a0, a1] = built.accounts as [
      { keyFile: string; address: string },
      { keyFile: string; address: string },
    ];

    const signed = parseJsonOutput<{ raw: string; id: string }>(
      await runVerity([
        'tx',
        'sign',
        '--key',
        a0.keyFile,
        '--chain-id',
        'cli-test',
        '--nonce',
        '0',
        '--to',
        a1.address,
        '--amount',
        '42',
        '--json',
      ]),
    );
    const etx = decodeTransaction(fromHex(signed.raw));
    verifyTransaction(etx, 'cli-test');

    // Commit it in a chain store certified by the validator keys genesis init wrote.
    const genesis = parseGenesis(JSON.parse(await readFile(built.genesis, 'utf8')));
    const store = await ChainStore.open(new MemoryKvStore(), genesis, {
      schemes: LEDGER_CERTIFICATE_SCHEMES,
    });
    const executed = await store.propose({
      txs: [etx],
      time: { ms: store.head.time.ms + 1, logical: 0 },
      proposer: genesis.validators.at(0)!.address,
      engineData: new Uint8Array(0),
    });
    const keys = await Promise.all(
      [0, 1, 2, 3].map((i) => loadKey(join(out, `node${i}`, 'keys', 'ed25519.json'))),
    );
    const msg = commitVoteBytes('cli-test', 1, 0, executed.hash);
    const cert: QuorumCertificate = {
      kind: 'ed25519-quorum',
      height: 1,
      blockHash: executed.hash,
      round: 0,
      votes: [0, 1, 2].map((i) => ({ validator: i, signature: ed25519.sign(msg, keys[i]!.secretKey) })),
    };
    await store.commit(executed, cert);
    const bundle = await buildTxProof(store, etx.id);
    const bundlePath = join(dir, 'tx-proof.json');
    await writeFile(bundlePath, JSON.stringify(bundle));

    const ok = await runVerity(['proof', 'verify', bundlePath, '--genesis', built.genesis, '--json']);
    expect(ok.code).toBe(0);
    expect(parseJsonOutput(ok)).toMatchObject({
      ok: true,
      kind: 'tx',
      id: signed.id,
      height: 1,
      op: { type: 'transfer', to: a1.address, amount: '42' },
      header: { certifiedBy: { kind: 'ed25519-quorum' } },
    });
    const human = await runVerity(['proof', 'verify', bundlePath, '--genesis', built.genesis]);
    expect(human.stdout).toContain('"amount": "42"');
    // The verdict says what it rests on, not just "valid".
    expect(human.stdout.split('\n')[0]).toMatch(
      /^VALID — Byzantine-fault certificate: .*more than 2\/3 of the power/,
    );

    const tampered = { ...bundle, logIndex: 1 };
    const badPath = join(dir, 'tx-proof-bad.json');
    await writeFile(badPath, JSON.stringify(tampered));
    const bad = await runVerity(['proof', 'verify', badPath, '--genesis', built.genesis]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('INVALID');

    await writeFile(badPath, '{not json');
    expect((await runVerity(['proof', 'verify', badPath, '--genesis', built.genesis])).code).toBe(1);
    expect((await runVerity(['proof', 'verify', bundlePath])).code).toBe(2);
  });
});

describe('verity evidence verify', () => {
  it('accepts two prevotes one validator signed for one round (exit 0) and refuses a doctored pair (exit 1)', async () => {
    const out = join(dir, 'evidence-chain');
    const init = await runVerity([
      'genesis',
      'init',
      '--chain-id',
      'ev-test',
      '--validators',
      '4',
      '--engine',
      'tendermint',
      '--out',
      out,
    ]);
    expect(init.code).toBe(0);
    const genesisFile = join(out, 'genesis.json');
    const genesis = parseGenesis(JSON.parse(await readFile(genesisFile, 'utf8')));
    const key = await loadKey(join(out, 'node1', 'keys', 'ed25519.json'));
    const signed = (fill: number) => {
      const msg = { type: 'prevote', height: 7, round: 2, id: new Uint8Array(32).fill(fill) } as const;
      return {
        envelope: sealEnvelope(tendermintCodec, msg, 'ev-test', 1, key.secretKey).bytes,
        hash: sha256(tendermintCodec.signingBytes(msg, 'ev-test')),
      };
    };
    const e = equivocation(
      { engine: 'tendermint', chainId: 'ev-test', validator: 1, slot: { height: 7, round: 2, step: 1 } },
      signed(1),
      signed(2),
    );
    expect(genesis.validators.at(1)?.publicKey).toEqual(key.publicKey);
    const file = join(dir, 'evidence.json');
    await writeFile(file, JSON.stringify({ validator: 1, evidence: toHex(encodeEquivocation(e)) }));
    const ok = await runVerity(['evidence', 'verify', file, '--genesis', genesisFile, '--json']);
    expect(ok.code).toBe(0);
    expect(parseJsonOutput<{ validator: number; slot: { height: number } }>(ok)).toMatchObject({
      validator: 1,
      slot: { height: 7 },
    });
    const text = await runVerity(['evidence', 'verify', file, '--genesis', genesisFile]);
    expect(text.stdout).toMatch(/VALID: validator 1 .* signed two different messages/);
    // The same vote twice is no evidence; neither is a pair claimed for another validator.
    const same = join(dir, 'same.json');
    await writeFile(same, toHex(encodeEquivocation({ ...e, b: e.a })));
    const bad = await runVerity(['evidence', 'verify', same, '--genesis', genesisFile]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/INVALID: the two messages sign the same bytes/);
    const other = join(dir, 'other.json');
    await writeFile(other, toHex(encodeEquivocation({ ...e, validator: 2 })));
    expect((await runVerity(['evidence', 'verify', other, '--genesis', genesisFile])).code).toBe(1);
  });
});
