import { writeFile } from 'node:fs/promises';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { formatAddress, parseAddress } from '../../ledger/address.ts';
import {
  type EncodedTransaction,
  MAX_AMOUNT,
  MAX_CHAIN_ID_LENGTH,
  MAX_RECORD_KEY_LENGTH,
  MAX_RECORD_VALUE_LENGTH,
  type Operation,
  signTransaction,
} from '../../ledger/tx.ts';
import { loadKey, passphraseFromEnv } from '../../src/keystore.ts';
import {
  bigintOption,
  type Command,
  type CommandContext,
  EXIT_OK,
  intOption,
  required,
  str,
  UsageError,
} from '../framework.ts';

export const operationOptions = {
  to: { type: 'string', valueName: 'ADDR', description: 'transfer recipient (verity1…)' },
  amount: { type: 'string', valueName: 'N', description: 'transfer amount (integer)' },
  put: {
    type: 'string',
    valueName: 'KEY=VALUE',
    description: 'write a data record (UTF-8); empty VALUE deletes',
  },
  stake: { type: 'string', valueName: 'N', description: 'move N from balance to stake' },
  unstake: { type: 'string', valueName: 'N', description: 'move N from stake back to balance' },
} as const;

/** Exactly one operation: --to/--amount, --put, --stake or --unstake. */
export function operationFromFlags(values: CommandContext['values']): Operation {
  const chosen = ['to', 'put', 'stake', 'unstake'].filter((k) => values[k] !== undefined);
  if (chosen.length !== 1)
    throw new UsageError(
      'give exactly one operation: --to ADDR --amount N, --put KEY=VALUE, --stake N or --unstake N',
    );
  if (values.to !== undefined) {
    const amount = bigintOption(values, 'amount', MAX_AMOUNT);
    if (amount === undefined || amount <= 0n)
      throw new UsageError('--amount must be a positive integer with --to');
    let to: Uint8Array;
    try {
      to = parseAddress(required(values, 'to'));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    return { type: 'transfer', to, amount };
  }
  if (values.amount !== undefined) throw new UsageError('--amount only goes with --to');
  if (values.put !== undefined) {
    const text = required(values, 'put');
    const eq = text.indexOf('=');
    if (eq <= 0) throw new UsageError('--put takes KEY=VALUE with a non-empty KEY');
    const key = utf8(text.slice(0, eq));
    const value = utf8(text.slice(eq + 1));
    if (key.length > MAX_RECORD_KEY_LENGTH)
      throw new UsageError(`--put KEY must be at most ${MAX_RECORD_KEY_LENGTH} bytes (UTF-8)`);
    if (value.length > MAX_RECORD_VALUE_LENGTH)
      throw new UsageError(`--put VALUE must be at most ${MAX_RECORD_VALUE_LENGTH} bytes (UTF-8)`);
    return { type: 'put', key, value };
  }
  const kind = values.stake !== undefined ? 'stake' : 'unstake';
  const amount = bigintOption(values, kind, MAX_AMOUNT);
  if (amount === undefined || amount <= 0n) throw new UsageError(`--${kind} must be a positive integer`);
  return { type: kind, amount };
}

export function txJson(etx: EncodedTransaction): Record<string, unknown> {
  const op = etx.tx.op;
  const opJson =
    op.type === 'transfer'
      ? { type: op.type, to: formatAddress(op.to), amount: op.amount.toString() }
      : op.type === 'put'
        ? {
            type: op.type,
            key: Buffer.from(op.key).toString('utf8'),
            value: Buffer.from(op.value).toString('utf8'),
          }
        : { type: op.type, amount: op.amount.toString() };
  return {
    id: toHex(etx.id),
    chainId: etx.tx.chainId,
    from: formatAddress(etx.from),
    nonce: etx.tx.nonce,
    op: opJson,
    raw: toHex(etx.bytes),
  };
}

export const txSign: Command = {
  name: 'tx sign',
  summary: 'sign a transaction offline',
  synopsis:
    '--key FILE --chain-id ID --nonce N (--to ADDR --amount N | --put KEY=VALUE | --stake N | --unstake N) [--out FILE]',
  description:
    'Prints the signed transaction as hex (or JSON with --json); --out writes the JSON form to FILE.',
  options: {
    key: { type: 'string', valueName: 'FILE', description: 'sender key file (ed25519)' },
    'chain-id': { type: 'string', valueName: 'ID', description: 'chain the transaction is valid on' },
    nonce: { type: 'string', valueName: 'N', description: "the sender's next nonce" },
    ...operationOptions,
    out: { type: 'string', valueName: 'FILE', description: 'write the signed transaction (JSON) to FILE' },
    'passphrase-env': {
      type: 'string',
      valueName: 'VAR',
      description: 'passphrase of an encrypted key file',
    },
  },
  examples: ['verity tx sign --key alice.json --chain-id demo --nonce 0 --to verity1… --amount 10'],
  async run({ values, out }) {
    const keyPath = required(values, 'key');
    const chainId = required(values, 'chain-id');
    if (utf8(chainId).length > MAX_CHAIN_ID_LENGTH)
      throw new UsageError(`--chain-id must be at most ${MAX_CHAIN_ID_LENGTH} bytes`);
    if (str(values, 'nonce') === undefined) throw new UsageError('--nonce is required');
    const nonce = intOption(values, 'nonce', 0);
    const op = operationFromFlags(values);
    const passphrase = passphraseFromEnv(str(values, 'passphrase-env'));
    const key = await loadKey(keyPath, {
      expect: 'ed25519',
      ...(passphrase === undefined ? {} : { passphrase }),
    });
    const etx = signTransaction({ chainId, sender: key.publicKey, nonce, op }, key.secretKey);
    const json = txJson(etx);
    const outPath = str(values, 'out');
    if (outPath !== undefined) await writeFile(outPath, `${JSON.stringify(json, null, 2)}\n`);
    out.result(json, () => toHex(etx.bytes));
    return EXIT_OK;
  },
};
