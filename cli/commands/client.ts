/** Commands that talk to a running node over its RPC (default: node 0 of the local testnet). */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import { verifyBundle } from '../../ledger/bundle.ts';
import { parseGenesis, trustAnchor } from '../../ledger/genesis.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { loadKey, passphraseFromEnv } from '../../src/keystore.ts';
import { manifestPath } from '../../src/node/testnet.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import {
  type Command,
  type CommandContext,
  EXIT_FAILED,
  EXIT_OK,
  intOption,
  required,
  str,
  UsageError,
} from '../framework.ts';
import { LOCAL_TESTNET_DIR } from './node.ts';
import { operationFromFlags, operationOptions } from './tx.ts';

const rpcOption = {
  rpc: {
    type: 'string',
    valueName: 'URL',
    description: 'node RPC URL (default: node 0 of ./.verity/testnet, else http://127.0.0.1:26601)',
  },
} as const;

function localManifest(): { rpc?: string; genesis?: string } {
  const path = manifestPath(resolve(LOCAL_TESTNET_DIR));
  if (!existsSync(path)) return {};
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as { genesis?: string; nodes?: Array<{ rpc?: string }> };
    return {
      ...(m.nodes?.[0]?.rpc ? { rpc: m.nodes[0].rpc } : {}),
      ...(m.genesis ? { genesis: m.genesis } : {}),
    };
  } catch {
    return {};
  }
}

function client(values: CommandContext['values']): RpcClient {
  return new RpcClient(str(values, 'rpc') ?? localManifest().rpc ?? 'http://127.0.0.1:26601');
}

function print(out: CommandContext['out'], data: unknown): void {
  out.result(data, () => JSON.stringify(data, null, 2));
}

export const txSend: Command = {
  name: 'tx send',
  summary: 'sign and submit a transaction (fetches the nonce); --wait returns once it is committed',
  synopsis:
    '--key FILE (--to ADDR --amount N | --put KEY=VALUE | --stake N | --unstake N) [--rpc URL] [--wait] [--nonce N]',
  options: {
    key: { type: 'string', valueName: 'FILE', description: 'sender key file' },
    ...operationOptions,
    ...rpcOption,
    wait: { type: 'boolean', description: 'wait until the transaction is in a certified block' },
    nonce: { type: 'string', valueName: 'N', description: 'use this nonce instead of asking the node' },
    'passphrase-env': {
      type: 'string',
      valueName: 'VAR',
      description: 'passphrase of an encrypted key file',
    },
  },
  examples: ['verity tx send --key alice.json --to verity1… --amount 10 --wait --json'],
  async run({ values, out }) {
    const op = operationFromFlags(values);
    const passphrase = passphraseFromEnv(str(values, 'passphrase-env'));
    const key = await loadKey(required(values, 'key'), {
      expect: 'ed25519',
      ...(passphrase === undefined ? {} : { passphrase }),
    });
    const rpc = client(values);
    const status = await rpc.status();
    const from = formatAddress(addressFromPublicKey(key.publicKey));
    const nonce =
      str(values, 'nonce') !== undefined
        ? intOption(values, 'nonce', 0)
        : (await rpc.account(from)).nextNonce;
    const etx = signTransaction({ chainId: status.chainId, sender: key.publicKey, nonce, op }, key.secretKey);
    const wait = values.wait === true;
    const r = await rpc.submitTx(toHex(etx.bytes), wait ? 'commit' : 'sync');
    const result = { id: r.id, height: r.height ?? null, receipt: r.receipt ?? null, nonce, from };
    out.result(result, () =>
      wait
        ? `committed ${r.id} at height ${r.height}: ${r.receipt?.ok ? 'ok' : `failed (${r.receipt?.code})`}`
        : `submitted ${r.id} (nonce ${nonce}); check with: verity query tx ${r.id}`,
    );
    return wait && r.receipt && !r.receipt.ok ? EXIT_FAILED : EXIT_OK;
  },
};

export const queryStatus: Command = {
  name: 'query status',
  summary: 'node status: height, latest hash, engine, peers, sync state',
  synopsis: '[--rpc URL]',
  options: { ...rpcOption },
  async run({ values, out }) {
    print(out, await client(values).status());
    return EXIT_OK;
  },
};

export const queryBlock: Command = {
  name: 'query block',
  summary: 'a committed block with its header and transactions',
  synopsis: 'HEIGHT [--rpc URL]',
  positionals: ['HEIGHT'],
  options: { ...rpcOption },
  async run({ values, positionals, out }) {
    const h = positionals[0] as string;
    if (!/^\d+$/.test(h)) throw new UsageError('HEIGHT must be a non-negative integer');
    print(out, await client(values).get(`/block?height=${h}`));
    return EXIT_OK;
  },
};

export const queryTx: Command = {
  name: 'query tx',
  summary: 'a committed transaction with its receipt',
  synopsis: 'TXID [--rpc URL]',
  positionals: ['TXID'],
  options: { ...rpcOption },
  async run({ values, positionals, out }) {
    print(out, await client(values).get(`/tx?id=${encodeURIComponent(positionals[0] as string)}`));
    return EXIT_OK;
  },
};

export const queryAccount: Command = {
  name: 'query account',
  summary: 'balance, stake and nonce of an account',
  synopsis: 'ADDRESS [--rpc URL]',
  positionals: ['ADDRESS'],
  options: { ...rpcOption },
  async run({ values, positionals, out }) {
    print(out, await client(values).account(positionals[0] as string));
    return EXIT_OK;
  },
};

export const queryRecord: Command = {
  name: 'query record',
  summary: 'a data record by key',
  synopsis: 'KEY [--rpc URL]',
  positionals: ['KEY'],
  options: { ...rpcOption },
  async run({ values, positionals, out }) {
    print(out, await client(values).get(`/record?key=${encodeURIComponent(positionals[0] as string)}`));
    return EXIT_OK;
  },
};

function proofCommand(kind: 'tx' | 'account' | 'record', arg: string, path: (v: string) => string): Command {
  return {
    name: `proof ${kind}`,
    summary: `fetch a light-client proof bundle for ${kind === 'tx' ? 'a transaction' : kind === 'account' ? 'an account' : 'a record'}`,
    synopsis: `${arg} --out FILE [--rpc URL] [--height H]`,
    positionals: [arg],
    options: {
      out: { type: 'string', valueName: 'FILE', description: 'where to write the bundle (JSON)' },
      height: {
        type: 'string',
        valueName: 'H',
        description: 'anchor at this certified height (default: latest)',
      },
      ...rpcOption,
    },
    examples: [
      `verity proof ${kind} ${arg} --out ${kind}.json && verity proof verify ${kind}.json --genesis GENESIS`,
    ],
    async run({ values, positionals, out }) {
      const h = str(values, 'height');
      const bundle = await client(values).get(
        `${path(encodeURIComponent(positionals[0] as string))}${h === undefined ? '' : `&height=${intOption(values, 'height', 0)}`}`,
      );
      const file = required(values, 'out');
      await writeFile(file, `${JSON.stringify(bundle, null, 2)}\n`);
      out.result(
        { file, kind },
        () => `wrote ${file}; verify it offline with: verity proof verify ${file} --genesis <genesis.json>`,
      );
      return EXIT_OK;
    },
  };
}

export const proofTx = proofCommand('tx', 'TXID', (v) => `/proof/tx?id=${v}`);
export const proofAccount = proofCommand('account', 'ADDRESS', (v) => `/proof/account?address=${v}`);
export const proofRecord = proofCommand('record', 'KEY', (v) => `/proof/record?key=${v}`);

export const logConsistency: Command = {
  name: 'log consistency',
  summary: 'check that the transparency log only grew between two certified heights',
  synopsis: '--from H1 --to H2 [--rpc URL] [--genesis FILE]',
  description:
    'Fetches an RFC 9162 consistency proof between the two certified headers and verifies it offline\nagainst the genesis validator set (default: the local testnet genesis).',
  options: {
    from: { type: 'string', valueName: 'H1', description: 'earlier height' },
    to: { type: 'string', valueName: 'H2', description: 'later height' },
    genesis: { type: 'string', valueName: 'FILE', description: 'genesis file to trust' },
    ...rpcOption,
  },
  async run({ values, out }) {
    const from = intOption(values, 'from', -1, 1);
    const to = intOption(values, 'to', -1, 1);
    if (from < 1 || to < 1) throw new UsageError('--from and --to are required (heights ≥ 1)');
    const genesisPath = str(values, 'genesis') ?? localManifest().genesis;
    if (genesisPath === undefined) throw new UsageError('--genesis is required (no local testnet found)');
    const genesis = parseGenesis(JSON.parse(readFileSync(genesisPath, 'utf8')));
    const bundle = await client(values).get(`/proof/consistency?from=${from}&to=${to}`);
    const r = verifyBundle(bundle, trustAnchor(genesis), { schemes: ALL_CERTIFICATE_SCHEMES });
    if (!r.ok) {
      out.result(r, () => `INCONSISTENT [${r.code}]: ${r.reason}`);
      return EXIT_FAILED;
    }
    out.result(
      { ok: true, ...r.value },
      () =>
        `CONSISTENT: the log at height ${to} extends the log at height ${from}\n${JSON.stringify(r.value, null, 2)}`,
    );
    return EXIT_OK;
  },
};
