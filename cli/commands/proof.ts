import { readFile } from 'node:fs/promises';
import { type Command, EXIT_FAILED, EXIT_OK, required, UsageError } from '../framework.ts';
import { loadVerification } from './verification.ts';

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    return Symbol.for('invalid-json');
  }
}

export const proofVerify: Command = {
  name: 'proof verify',
  summary: 'verify a proof bundle offline, trusting only the genesis file',
  synopsis: 'BUNDLE.json --genesis GENESIS.json',
  positionals: ['BUNDLE'],
  description:
    'Checks the commit certificate of the header(s) against the genesis validator set, then the Merkle\nproof against the certified roots. Exit 0 and the proven value, or exit 1 and the reason.',
  options: { genesis: { type: 'string', valueName: 'FILE', description: 'the genesis file you trust' } },
  examples: ['verity proof verify tx.json --genesis demo/genesis.json'],
  async run({ values, positionals, out }) {
    const genesisJson = await readJson(required(values, 'genesis'), 'genesis');
    if (typeof genesisJson === 'symbol') throw new UsageError('the genesis file is not valid JSON');
    const { bundleGuarantees, parseGenesis, schemes, trustAnchor, verifyBundle } = await loadVerification();
    const genesis = parseGenesis(genesisJson);
    const bundle = await readJson(positionals[0] as string, 'bundle');
    const result =
      typeof bundle === 'symbol'
        ? ({ ok: false, code: 'MALFORMED', reason: 'the bundle is not valid JSON' } as const)
        : verifyBundle(bundle, trustAnchor(genesis), { schemes });
    if (result.ok) {
      out.result(
        { ok: true, ...result.value, guarantees: bundleGuarantees(result.value) },
        () =>
          `VALID — ${bundleGuarantees(result.value).join('; ')}\n${JSON.stringify(result.value, null, 2)}`,
      );
      return EXIT_OK;
    }
    out.result(result, () => `INVALID [${result.code}]: ${result.reason}`);
    return EXIT_FAILED;
  },
};
