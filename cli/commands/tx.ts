import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { bls } from '../../crypto/bls/index.ts';
import { fromHex, toHex, utf8 } from '../../crypto/bytes.ts';
import { ADDRESS_HRP, formatAddress, parseAddress } from '../../ledger/address.ts';
import {
  type EncodedTransaction,
  MAX_AMOUNT,
  MAX_CHAIN_ID_LENGTH,
  MAX_RECORD_KEY_LENGTH,
  MAX_RECORD_VALUE_LENGTH,
  MAX_VALIDATOR_NAME_LENGTH,
  type Operation,
  signTransaction,
  TxError,
  validateOperation,
} from '../../ledger/tx.ts';
import { operationToJson } from '../../ledger/tx-json.ts';
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
  unstake: {
    type: 'string',
    valueName: 'N',
    description: 'move N from stake back to balance (with staking: unbond, paid after the unbonding period)',
  },
  'register-validator': {
    type: 'string',
    valueName: 'NAME',
    description: 'register the --key as a validator candidate (staking chains), with its BLS and VRF keys',
  },
  'bls-key': {
    type: 'string',
    valueName: 'FILE',
    description: 'BLS key for --register-validator (default: bls.json beside --key)',
  },
  'vrf-key': {
    type: 'string',
    valueName: 'FILE',
    description: 'VRF key for --register-validator (default: vrf.json beside --key, if there is one)',
  },
  unjail: {
    type: 'boolean',
    description: 'return a jailed validator to the candidates once its term is over',
  },
  membership: {
    type: 'boolean',
    description:
      'ask the engine to run with --voters and --learners (the --key must be a validator; chains without staking whose engine carries it out: Raft)',
  },
  voters: {
    type: 'string',
    valueName: 'LIST',
    description: `with --membership: the validators that vote, comma-separated names or addresses (${ADDRESS_HRP}1… or 0x hex)`,
  },
  learners: {
    type: 'string',
    valueName: 'LIST',
    description:
      'with --membership: the validators that follow without voting, like --voters (default: none)',
  },
} as const;

const OPERATION_FLAGS = ['to', 'put', 'stake', 'unstake', 'register-validator', 'unjail', 'membership'];
const OPERATION_CHOICES =
  '--to ADDR --amount N, --put KEY=VALUE, --stake N, --unstake N, --register-validator NAME, --unjail or --membership --voters LIST [--learners LIST]';

/** The validators by name, for names in --voters and --learners (from the node, in `tx send`). */
export type ValidatorDirectory = () => Promise<
  ReadonlyArray<{ readonly name: string; readonly address: Uint8Array }>
>;

/**
 * Exactly one operation: --to/--amount, --put, --stake, --unstake, --register-validator, --unjail
 * or --membership. `validators` resolves validator names; without it only addresses are accepted.
 */
export async function operationFromFlags(
  values: CommandContext['values'],
  keyPath: string,
  validators?: ValidatorDirectory,
): Promise<Operation> {
  if (values.voters !== undefined || values.learners !== undefined) {
    if (values.membership !== true) throw new UsageError('--voters and --learners only go with --membership');
  }
  const chosen = OPERATION_FLAGS.filter((k) => values[k] !== undefined && values[k] !== false);
  if (chosen.length !== 1) throw new UsageError(`give exactly one operation: ${OPERATION_CHOICES}`);
  if (values['bls-key'] !== undefined || values['vrf-key'] !== undefined) {
    if (values['register-validator'] === undefined)
      throw new UsageError('--bls-key and --vrf-key only go with --register-validator');
  }
  if (values['register-validator'] !== undefined) return registration(values, keyPath);
  if (values.unjail === true) return { type: 'unjail' };
  if (values.membership === true) return membership(values, validators);
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

/** --register-validator NAME: the BLS key (with its proof of possession) and the VRF key, if any. */
async function registration(values: CommandContext['values'], keyPath: string): Promise<Operation> {
  const name = required(values, 'register-validator');
  if (utf8(name).length > MAX_VALIDATOR_NAME_LENGTH)
    throw new UsageError(`--register-validator NAME must be at most ${MAX_VALIDATOR_NAME_LENGTH} bytes`);
  const passphrase = passphraseFromEnv(str(values, 'passphrase-env'));
  const opts = passphrase === undefined ? {} : { passphrase };
  const beside = (file: string) => join(dirname(keyPath), file);
  const blsKey = await loadKey(str(values, 'bls-key') ?? beside('bls.json'), {
    ...opts,
    expect: 'bls12-381',
  });
  const vrfPath = str(values, 'vrf-key') ?? beside('vrf.json');
  const vrfKey =
    str(values, 'vrf-key') !== undefined || existsSync(vrfPath)
      ? await loadKey(vrfPath, { ...opts, expect: 'ecvrf-edwards25519' })
      : undefined;
  return {
    type: 'register-validator',
    name,
    blsPublicKey: blsKey.publicKey,
    blsPop: bls.popProve(blsKey.secretKey),
    vrfPublicKey: vrfKey?.publicKey ?? new Uint8Array(0),
  };
}

/** A 20-byte address as 40 hex digits, with or without 0x. */
const HEX_ADDRESS = /^(0x)?[0-9a-fA-F]{40}$/;

/** --membership --voters LIST [--learners LIST]: names resolved by `validators`, or addresses. */
async function membership(
  values: CommandContext['values'],
  validators: ValidatorDirectory | undefined,
): Promise<Operation> {
  let directory: Awaited<ReturnType<ValidatorDirectory>> | undefined;
  const seen = new Map<string, string>();
  const resolve = async (flag: string, entry: string): Promise<Uint8Array> => {
    let address: Uint8Array;
    if (entry.startsWith(`${ADDRESS_HRP}1`)) {
      try {
        address = parseAddress(entry);
      } catch (e) {
        throw new UsageError(`--${flag}: ${(e as Error).message}`);
      }
    } else if (HEX_ADDRESS.test(entry)) address = fromHex(entry);
    else {
      if (validators === undefined)
        throw new UsageError(
          `--${flag}: "${entry}" is not an address, and validator names need a node (\`tx send\`): give ${ADDRESS_HRP}1… or 0x addresses`,
        );
      directory ??= await validators();
      const found = directory.find((v) => v.name === entry);
      if (found === undefined)
        throw new UsageError(
          `--${flag}: unknown validator "${entry}" (validators: ${directory.map((v) => v.name).join(', ')})`,
        );
      address = found.address;
    }
    const key = toHex(address);
    const earlier = seen.get(key);
    if (earlier !== undefined)
      throw new UsageError(`--${flag}: "${entry}" names the same validator as "${earlier}"`);
    seen.set(key, entry);
    return address;
  };
  const list = async (flag: string): Promise<Uint8Array[]> => {
    const text = str(values, flag) ?? '';
    if (text.trim() === '') return [];
    const entries = text.split(',').map((e) => e.trim());
    if (entries.includes('')) throw new UsageError(`--${flag} has an empty entry: "${text}"`);
    const out: Uint8Array[] = [];
    for (const entry of entries) out.push(await resolve(flag, entry));
    return out;
  };
  const voters = await list('voters');
  if (voters.length === 0) throw new UsageError('--membership needs --voters: at least one validator');
  const op: Operation = { type: 'membership', voters, learners: await list('learners') };
  try {
    validateOperation(op);
  } catch (e) {
    if (e instanceof TxError) throw new UsageError(e.message);
    throw e;
  }
  return op;
}

export function txJson(etx: EncodedTransaction): Record<string, unknown> {
  return {
    id: toHex(etx.id),
    chainId: etx.tx.chainId,
    from: formatAddress(etx.from),
    nonce: etx.tx.nonce,
    op: operationToJson(etx.tx.op),
    raw: toHex(etx.bytes),
  };
}

export const txSign: Command = {
  name: 'tx sign',
  summary: 'sign a transaction offline',
  synopsis:
    '--key FILE --chain-id ID --nonce N (--to ADDR --amount N | --put KEY=VALUE | --stake N | --unstake N | --register-validator NAME [--bls-key FILE] [--vrf-key FILE] | --unjail | --membership --voters LIST [--learners LIST]) [--out FILE]',
  description: [
    'Prints the signed transaction as hex (or JSON with --json); --out writes the JSON form to FILE.',
    'Offline, --voters and --learners take addresses only (validator names need a node: `tx send`).',
  ].join('\n'),
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
    const op = await operationFromFlags(values, keyPath);
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
