/**
 * Validators' VRF keys end to end: `verity testnet` / `genesis init` write one per validator
 * (keys/vrf.json, its own random seed) with its public key in genesis, and the runtime hands an
 * engine a `vrfProve` whose proofs verify against that genesis key.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { getEngine } from '../../consensus/registry.ts';
import { SeededRng } from '../../consensus/rng.ts';
import type { EngineContext, EngineModule } from '../../consensus/types.ts';
import { equalBytes, utf8 } from '../../crypto/bytes.ts';
import { vrf } from '../../crypto/vrf.ts';
import { LEDGER_CERTIFICATE_SCHEMES } from '../../ledger/certificate.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { parseGenesis } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { planChain, writeChain } from '../../src/genesis-builder.ts';
import { loadKey } from '../../src/keystore.ts';
import { ConsensusRuntime } from '../../src/runtime/runtime.ts';
import { makeTestChain } from '../helpers/chain.ts';

describe('validator VRF keys', () => {
  it('a new chain gives each validator its own VRF key file, listed in genesis, distinct from its ed25519 key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'verity-vrf-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }));
    const plan = planChain({
      chainId: 'vrf-keys',
      validators: 3,
      engine: 'tendermint',
      accounts: 0,
      genesisTime: 1,
    });
    await writeChain(dir, plan);
    const genesis = parseGenesis(JSON.parse(await readFile(join(dir, 'genesis.json'), 'utf8')));
    const seen = new Set<string>();
    for (const [i, v] of genesis.validators.validators.entries()) {
      const key = await loadKey(join(dir, `node${i}`, 'keys', 'vrf.json'));
      expect(key.type).toBe('ecvrf-edwards25519');
      expect(equalBytes(key.publicKey, v.vrfPublicKey as Uint8Array)).toBe(true);
      expect(equalBytes(key.publicKey, v.publicKey)).toBe(false);
      seen.add(Buffer.from(key.publicKey).toString('hex'));
      const alpha = utf8(`round ${i}`);
      expect(vrf.verify(v.vrfPublicKey as Uint8Array, vrf.prove(key.secretKey, alpha), alpha)).not.toBeNull();
    }
    expect(seen.size).toBe(3);
  });

  it("the runtime gives the engine vrfProve with the node's VRF key, and none without one", async () => {
    const chain = makeTestChain({ label: 'vrf-runtime' });
    const base = getEngine('tendermint') as EngineModule<unknown>;
    const seen: EngineContext[] = [];
    const engine: EngineModule<unknown> = {
      ...base,
      create: (ctx) => {
        seen.push(ctx);
        return base.create(ctx);
      },
    };
    const secret = new Uint8Array(32).fill(7);
    const make = async (withVrf: boolean) =>
      new ConsensusRuntime({
        engine,
        genesis: chain.genesis,
        chain: await ChainStore.open(new MemoryKvStore(), chain.genesis, {
          schemes: LEDGER_CERTIFICATE_SCHEMES,
        }),
        transport: { self: 'me', send() {}, broadcast() {}, onMessage() {}, peers: () => [], penalize() {} },
        timers: { set() {}, cancel() {}, cancelAll() {} },
        clock: { now: () => 0 },
        wal: new MemoryKvStore(),
        keys: {
          ed25519: (chain.validators[0] as { secretKey: Uint8Array }).secretKey,
          ...(withVrf ? { vrf: secret } : {}),
        },
        rng: new SeededRng('vrf-runtime'),
      });
    await make(true);
    await make(false);
    const alpha = utf8('alpha');
    const proof = seen[0]?.signer.vrfProve?.(alpha) as Uint8Array;
    expect(vrf.verify(vrf.publicKeyFromSecret(secret), proof, alpha)).not.toBeNull();
    expect(seen[1]?.signer.vrfProve).toBeUndefined();
  });
});
