// Validator sets that change, with real processes: a 4-validator testnet with staking and one
// candidate node. The candidate registers and bonds through the CLI, a validator unbonds; at the
// epoch boundary the candidate joins and signs blocks, the other leaves; a proof from after both
// changes verifies offline against genesis alone, walking the epoch transitions.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJsonOutput, runVerity } from '../helpers/cli.ts';
import { type Cluster, createCluster, errorLines, tmpDir, waitFor, waitUntilRunning } from './helpers.ts';
import { afterSuite } from './suite-dir.ts';

const ENGINES = (process.env.VERITY_E2E_STAKING_ENGINES ?? 'tendermint,hotstuff,pos').split(',');
const EPOCH = 8;
/** Proof of Stake with one-second slots and four-slot epochs: finality in about ten seconds. */
const PARAMS: Record<string, Record<string, number>> = { pos: { slotMs: 1000, slotsPerEpoch: 4 } };

interface ValidatorsJson {
  epoch: number;
  height: number;
  validators: Array<{ address: string; power: number; name: string }>;
}

for (const [slot, ENGINE] of ENGINES.entries())
  describe(`e2e staking: a validator joins, another leaves (${ENGINE})`, () => {
    let cluster: Cluster;
    let dir: string;
    const rpc = (i: number) => cluster.manifest.nodes[i]?.rpc as string;
    const key = (i: number) => join(cluster.manifest.nodes[i]?.home as string, 'keys', 'ed25519.json');

    beforeAll(async () => {
      dir = await tmpDir('verity-e2e-staking-');
      cluster = await createCluster({
        dir,
        validators: 4,
        candidates: 1,
        engine: ENGINE,
        ...(PARAMS[ENGINE] === undefined ? {} : { engineParams: PARAMS[ENGINE] }),
        slot: 40 + slot,
        staking: { mode: 'permissioned', epochLength: EPOCH, unbondingPeriod: 4 * EPOCH, powerUnit: '1000' },
      });
      for (let i = 0; i < 5; i++) cluster.start(i);
      await waitUntilRunning(cluster, ENGINE);
    }, 180_000);

    afterSuite(
      () => dir,
      () => cluster?.stopAll(),
    );

    it('registers and bonds through the CLI, joins at the boundary and signs; the unbonded one leaves; proofs verify from genesis', async () => {
      const candidate = cluster.manifest.nodes[4]?.address as string;
      const leaver = cluster.manifest.nodes[3]?.address as string;
      for (const args of [
        [
          'tx',
          'send',
          '--key',
          key(4),
          '--register-validator',
          'candidate',
          '--rpc',
          rpc(4),
          '--wait',
          '--json',
        ],
        ['tx', 'send', '--key', key(4), '--stake', '1000', '--rpc', rpc(4), '--wait', '--json'],
        ['tx', 'send', '--key', key(3), '--unstake', '1000', '--rpc', rpc(3), '--wait', '--json'],
      ]) {
        const r = await runVerity(args);
        expect(r.code, `${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
      }
      // The set of the next block, every node alike, once the epoch the bonds landed in has ended.
      const joined = await waitFor(
        'the candidate in the set and the unbonded validator out (they may land in different epochs)',
        async () => {
          const v = parseJsonOutput<ValidatorsJson>(
            await runVerity(['query', 'validators', '--rpc', rpc(0), '--json']),
          );
          const members = v.validators.map((x) => x.address);
          return members.includes(candidate) && !members.includes(leaver) ? v : undefined;
        },
        120_000,
        1000,
      );
      expect(joined.validators).toHaveLength(4);
      // The query names the set by height: the genesis set signed block 1.
      const first = parseJsonOutput<ValidatorsJson>(
        await runVerity(['query', 'validators', '--height', '1', '--rpc', rpc(1), '--json']),
      );
      expect(first.epoch).toBe(0);
      expect(first.validators.map((v) => v.address)).toContain(leaver);

      // The candidate signs: it proposes blocks of its own (proposers rotate over the set).
      const proposed = await waitFor(
        'a block proposed by the candidate',
        async () => {
          const status = (await cluster.clients[0]?.status()) as { height: number };
          for (let h = joined.height; h <= status.height; h++) {
            const b = (await cluster.clients[0]?.get(`/block?height=${h}`)) as {
              header?: { proposer?: string };
            };
            if (b.header?.proposer === candidate) return h;
          }
          return undefined;
        },
        120_000,
        1000,
      );
      expect(proposed).toBeGreaterThanOrEqual(joined.height);
      const status4 = (await cluster.clients[4]?.status()) as unknown as {
        validator: { address: string } | null;
      };
      expect(status4.validator?.address).toBe(candidate);

      // A proof from after both changes, verified offline against genesis alone.
      const file = join(dir, 'candidate-proof.json');
      const fetched = await runVerity(['proof', 'account', candidate, '--out', file, '--rpc', rpc(2)]);
      expect(fetched.code, fetched.stderr).toBe(0);
      const bundle = JSON.parse(await readFile(file, 'utf8')) as { version: number; epochs: unknown[] };
      expect(bundle.version).toBe(2);
      const verified = await runVerity([
        'proof',
        'verify',
        file,
        '--genesis',
        join(dir, 'genesis.json'),
        '--json',
      ]);
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      const value = parseJsonOutput<{ ok: boolean; stake: string; epochs: number; guarantees: string[] }>(
        verified,
      );
      expect(value.stake).toBe('1000');
      // (One step per epoch, or fewer where the bundle skips: skipping verification.)
      expect(value.epochs).toBeGreaterThanOrEqual(bundle.epochs.length);
      expect(value.guarantees.join(' ')).toMatch(/epoch transition/);
      // Tampered: the proof of the first transition dropped.
      const tampered = join(dir, 'tampered.json');
      await (await import('node:fs/promises')).writeFile(
        tampered,
        JSON.stringify({ ...bundle, epochs: bundle.epochs.slice(1) }),
      );
      const refused = await runVerity(['proof', 'verify', tampered, '--genesis', join(dir, 'genesis.json')]);
      expect(refused.code).toBe(1);

      // A healthy run: no error-level line on any node.
      for (const n of cluster.manifest.nodes) {
        const log = await readFile(join(n.home, 'node.log'), 'utf8');
        expect(errorLines(log.split('\n')), n.name).toEqual([]);
      }
    }, 300_000);
  });
