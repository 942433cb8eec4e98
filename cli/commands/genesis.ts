import { passphraseFromEnv } from '../../src/keystore.ts';
import {
  type Command,
  EXIT_OK,
  forceOption,
  intOption,
  refusingOverwrite,
  required,
  str,
  UsageError,
} from '../framework.ts';
import { parseEngineFlag } from './engine-flag.ts';

export const genesisInit: Command = {
  name: 'genesis init',
  summary: 'create a new chain: genesis file, validator keys and funded account keys',
  synopsis: '--chain-id ID --validators N --out DIR [--engine NAME] [--accounts K] [--threshold] [--force]',
  description:
    'Writes DIR/genesis.json, one home per validator (DIR/node<i>/keys/…) and K funded account keys\n(DIR/accounts/account<i>.json). Key files are unencrypted unless --passphrase-env is given.\nEvery option is checked before anything is written; if any of those files exists, nothing is\nwritten and the command exits 2, unless --force is given (which replaces the keys for good).',
  options: {
    'chain-id': { type: 'string', valueName: 'ID', description: 'chain identifier (1..64 bytes)' },
    validators: { type: 'string', valueName: 'N', description: 'number of validators (1..128)' },
    out: { type: 'string', valueName: 'DIR', description: 'output directory' },
    engine: { type: 'string', valueName: 'NAME', description: 'consensus engine (default tendermint)' },
    accounts: { type: 'string', valueName: 'K', description: 'funded accounts to create (default 4)' },
    balance: { type: 'string', valueName: 'N', description: 'balance of each account (default 1000000000)' },
    threshold: { type: 'boolean', description: 'deal a threshold-BLS key (HotStuff threshold certificates)' },
    'passphrase-env': {
      type: 'string',
      valueName: 'VAR',
      description: 'encrypt key files with the passphrase in VAR',
    },
    ...forceOption,
  },
  examples: ['verity genesis init --chain-id demo --validators 4 --out ./demo'],
  async run({ values, out }) {
    const chainId = required(values, 'chain-id');
    if (str(values, 'validators') === undefined) throw new UsageError('--validators is required');
    const validators = intOption(values, 'validators', -1, 1, 128);
    const dir = required(values, 'out');
    const { name, params } = parseEngineFlag(str(values, 'engine') ?? 'tendermint');
    const balanceText = str(values, 'balance') ?? '1000000000';
    if (!/^[1-9]\d{0,30}$/.test(balanceText)) throw new UsageError('--balance must be a positive integer');
    const accounts = intOption(values, 'accounts', 4, 0, 10_000);
    const passphrase = passphraseFromEnv(str(values, 'passphrase-env'));
    const { buildChain } = await import('../../src/genesis-builder.ts');
    // buildChain checks the rest (chain id, engine and its parameters) before writing anything.
    const built = await refusingOverwrite(() =>
      buildChain({
        chainId,
        validators,
        engine: name,
        engineParams: params,
        accounts,
        balance: BigInt(balanceText),
        genesisTime: Date.now(),
        threshold: values.threshold === true || params.qc === 'threshold',
        out: dir,
        overwrite: values.force === true,
        ...(passphrase === undefined ? {} : { passphrase }),
      }),
    );
    out.info(`created ${validators} validators for chain "${chainId}" (engine ${name}) in ${dir}`);
    out.result({ genesis: built.genesisPath, nodes: built.nodes, accounts: built.accounts }, () =>
      [
        `genesis: ${built.genesisPath}`,
        ...built.nodes.map((n) => `${n.name}: ${n.home}  ${n.address}`),
        ...built.accounts.map((a) => `account: ${a.keyFile}  ${a.address}  balance ${a.balance}`),
      ].join('\n'),
    );
    return EXIT_OK;
  },
};
