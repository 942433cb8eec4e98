import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import { peerIdFromEd25519 } from '../../ledger/validators.ts';
import { generateKey, loadKey, passphraseFromEnv, saveKey } from '../../src/keystore.ts';
import {
  type Command,
  EXIT_OK,
  forceOption,
  refusingOverwrite,
  required,
  str,
  UsageError,
} from '../framework.ts';

const passphraseEnv = {
  type: 'string',
  valueName: 'VAR',
  description: 'read the passphrase from environment variable VAR (never from the command line)',
} as const;

export const keysGenerate: Command = {
  name: 'keys generate',
  summary: 'generate a key file (ed25519 account/validator key, or BLS)',
  synopsis: '--out FILE [--type ed25519|bls] [--passphrase-env VAR] [--force]',
  description: 'Refuses to replace an existing FILE (exit 2) unless --force is given.',
  options: {
    out: { type: 'string', valueName: 'FILE', description: 'where to write the key file (mode 0600)' },
    type: { type: 'string', valueName: 'TYPE', description: 'ed25519 (default) or bls' },
    'passphrase-env': passphraseEnv,
    ...forceOption,
  },
  examples: [
    'verity keys generate --out alice.json',
    'PW=secret verity keys generate --out alice.json --passphrase-env PW',
  ],
  async run({ values, out }) {
    const path = required(values, 'out');
    const typeName = str(values, 'type') ?? 'ed25519';
    if (typeName !== 'ed25519' && typeName !== 'bls') throw new UsageError('--type must be ed25519 or bls');
    const passphrase = passphraseFromEnv(str(values, 'passphrase-env'));
    const key = generateKey(typeName === 'bls' ? 'bls12-381' : 'ed25519');
    const overwrite = values.force === true;
    await refusingOverwrite(() =>
      saveKey(path, key, { overwrite, ...(passphrase === undefined ? {} : { passphrase }) }),
    );
    const info = describeKey(key.type, key.publicKey);
    out.result({ file: path, encrypted: passphrase !== undefined, ...info }, () =>
      [
        `wrote ${path}${passphrase !== undefined ? ' (encrypted)' : ''}`,
        ...Object.entries(info).map(([k, v]) => `${k}: ${v}`),
      ].join('\n'),
    );
    return EXIT_OK;
  },
};

function describeKey(type: string, publicKey: Uint8Array): Record<string, string> {
  if (type === 'ed25519') {
    return {
      type,
      address: formatAddress(addressFromPublicKey(publicKey)),
      publicKey: toHex(publicKey),
      peerId: peerIdFromEd25519(publicKey),
    };
  }
  return { type, publicKey: toHex(publicKey) };
}

export const keysShow: Command = {
  name: 'keys show',
  summary: 'show the address, public key and peer id of a key file',
  synopsis: 'FILE [--passphrase-env VAR]',
  positionals: ['FILE'],
  options: { 'passphrase-env': passphraseEnv },
  async run({ values, positionals, out }) {
    const path = positionals[0] as string;
    const passphrase = passphraseFromEnv(str(values, 'passphrase-env'));
    const key = await loadKey(path, passphrase === undefined ? {} : { passphrase });
    const info = { ...describeKey(key.type, key.publicKey), ...(key.extra ?? {}) };
    out.result(info, () =>
      Object.entries(info)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n'),
    );
    return EXIT_OK;
  },
};
