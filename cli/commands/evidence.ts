import { readFile } from 'node:fs/promises';
import {
  decodeEquivocation,
  EvidenceError,
  MAX_EVIDENCE_BYTES,
  verifyEquivocation,
} from '../../consensus/evidence.ts';
import { fromHex } from '../../crypto/bytes.ts';
import { type Command, EXIT_FAILED, EXIT_OK, required, UsageError } from '../framework.ts';

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** The evidence bytes in FILE: an item of GET /evidence (`{"evidence": "<hex>", …}`) or bare hex. */
function evidenceHex(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const item = JSON.parse(trimmed) as { evidence?: unknown };
      return typeof item.evidence === 'string' ? item.evidence : undefined;
    } catch {
      return undefined;
    }
  }
  return trimmed;
}

export const evidenceVerify: Command = {
  name: 'evidence verify',
  summary: 'verify equivocation or surround-vote evidence offline, trusting only the genesis file',
  synopsis: 'FILE --genesis GENESIS.json',
  positionals: ['FILE'],
  description: [
    'FILE holds one item of GET /evidence (JSON with an "evidence" hex field) or the bare hex.',
    'Valid evidence is two messages signed by one validator of this genesis for one consensus',
    'slot with different contents, or (Proof of Stake) two of its Casper FFG votes of which one',
    'surrounds the other — proof, by itself, that the validator is Byzantine.',
    'Exit 0 valid (the validator, the slot and both messages are printed), 1 invalid and why.',
  ].join('\n'),
  options: { genesis: { type: 'string', valueName: 'FILE', description: 'the genesis file you trust' } },
  examples: [
    'curl -s localhost:26601/evidence | jq .evidence[0] > ev.json && verity evidence verify ev.json --genesis genesis.json',
  ],
  async run({ values, positionals, out }) {
    let genesisJson: unknown;
    try {
      genesisJson = JSON.parse(await readText(required(values, 'genesis'), 'genesis'));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError('the genesis file is not valid JSON');
    }
    const [{ getEngine }, { parseGenesis }] = await Promise.all([
      import('../../consensus/registry.ts'),
      import('../../ledger/genesis.ts'),
    ]);
    const genesis = parseGenesis(genesisJson);
    const engine = getEngine(genesis.engine.name);
    if (engine === undefined)
      throw new UsageError(`genesis names engine "${genesis.engine.name}", which this build does not have`);
    const invalid = (reason: string) => {
      out.result({ ok: false, reason }, () => `INVALID: ${reason}`);
      return EXIT_FAILED;
    };
    const hex = evidenceHex(await readText(positionals[0] as string, 'evidence file'));
    let bytes: Uint8Array;
    try {
      if (hex === undefined) return invalid('the file holds neither an evidence item nor hex');
      bytes = fromHex(hex);
    } catch {
      return invalid('the evidence is not valid hex');
    }
    let e: ReturnType<typeof decodeEquivocation>;
    try {
      e = decodeEquivocation(bytes, MAX_EVIDENCE_BYTES);
    } catch (err) {
      if (err instanceof EvidenceError) return invalid(err.message);
      throw err;
    }
    const check = verifyEquivocation(e, {
      engine: engine.name,
      chainId: genesis.chainId,
      validators: genesis.validators,
      codec: engine.codec,
    });
    if (!check.ok) return invalid(check.reason);
    const name = genesis.validators.at(check.validator)?.name;
    const result = {
      ok: true,
      validator: check.validator,
      name,
      offence: check.offence,
      slot: check.slot,
      messages: check.messages,
    };
    out.result(result, () =>
      [
        check.offence === 'surround'
          ? `VALID: validator ${check.validator} (${name}) signed an FFG vote surrounding another of its own`
          : `VALID: validator ${check.validator} (${name}) signed two different messages for one slot`,
        `  slot: height ${check.slot.height}, round ${check.slot.round}, step ${check.slot.step}`,
        `  ${check.messages[0]}`,
        `  ${check.messages[1]}`,
        check.offence === 'surround'
          ? 'checked: both signatures against the genesis validator set; the first vote’s source is before the second’s and its target after (Casper FFG’s surround rule)'
          : 'checked: both signatures against the genesis validator set; the same slot; different contents',
      ].join('\n'),
    );
    return EXIT_OK;
  },
};
