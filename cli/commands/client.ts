/** Commands that talk to a running node over its RPC (default: node 0 of the local testnet). */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { text as streamText } from 'node:stream/consumers';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { addressFromPublicKey, formatAddress, parseAddress } from '../../ledger/address.ts';
import {
  decodeTransaction,
  type EncodedTransaction,
  signTransaction,
  TxError,
  verifyTransaction,
} from '../../ledger/tx.ts';
import { loadKey, passphraseFromEnv } from '../../src/keystore.ts';
import { manifestPath } from '../../src/node/testnet-manifest.ts';
import { RpcClient, RpcClientError } from '../../src/rpc/client.ts';
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
import { LOCAL_TESTNET_DIR } from './defaults.ts';
import {
  renderAccount,
  renderBlock,
  renderCandidate,
  renderRecord,
  renderStatus,
  renderTx,
  renderTxs,
  renderValidators,
} from './render.ts';
import { operationFromFlags, operationOptions } from './tx.ts';
import { loadVerification } from './verification.ts';

const DEFAULT_RPC = 'http://127.0.0.1:26601';

export const rpcOption = {
  rpc: {
    type: 'string',
    valueName: 'URL',
    description: `node RPC: an http(s) URL, HOST:PORT or :PORT (this machine) (default: node 0 of ./.verity/testnet, else ${DEFAULT_RPC})`,
  },
} as const;

/** HOST:PORT or :PORT without a scheme — what `rpc.listen` in config.toml and `ss -ltn` show. */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][\w.-]*)?:\d+$/;

/**
 * The base URL an --rpc value names. People paste a node's listen address as often as its URL,
 * so HOST:PORT gets http:// and :PORT means this machine (nodes listen on 127.0.0.1 by default).
 * Anything else must be an http(s) URL the client can append paths to; otherwise it is a usage
 * error now rather than an "is the node running?" later (fetch fails on such URLs with a bare
 * TypeError).
 */
export function rpcBaseUrl(value: string): string {
  const shown = value === '' ? '""' : value;
  const text = HOST_PORT.test(value) ? `http://${value.startsWith(':') ? '127.0.0.1' : ''}${value}` : value;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--rpc ${shown} is not a URL (expected e.g. ${DEFAULT_RPC})`);
  }
  const plain = url.username === '' && url.password === '' && url.search === '' && url.hash === '';
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !plain)
    throw new UsageError(
      `--rpc ${shown} is not a node RPC URL: http:// or https://, no user, query or fragment (expected e.g. ${DEFAULT_RPC})`,
    );
  return url.href.replace(/\/+$/, '');
}

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

/** The one place --rpc is read: every client command goes through here. */
export function rpcBase(values: CommandContext['values']): string {
  const flag = str(values, 'rpc');
  return flag !== undefined ? rpcBaseUrl(flag) : (localManifest().rpc ?? DEFAULT_RPC);
}

function client(values: CommandContext['values']): RpcClient {
  return new RpcClient(rpcBase(values));
}

/** An answer for a person (render.ts), or as it came with --json. */
function show(
  out: CommandContext['out'],
  data: unknown,
  render: (d: Record<string, unknown>) => string,
): void {
  out.result(data, () => render(data as Record<string, unknown>));
}

/**
 * `tx send --wait` when the transaction is pending behind a nonce gap: the node keeps it, but it
 * cannot commit before the missing nonces do, so waiting for it would not help.
 */
export const EXIT_PENDING = 5;

/** What `tx send` knows of the transaction it sent; every outcome reports these facts. */
interface SentTx {
  readonly id: string;
  readonly from: string;
  readonly nonce: number;
  /** The node's `nextNonce` for the sender: its committed nonce plus its contiguous pending run. */
  readonly expectedNonce: number;
}

type Submitted = Awaited<ReturnType<RpcClient['submitTx']>>;

function nonceFacts(tx: SentTx): string {
  return `transaction ${tx.id} has nonce ${tx.nonce} but account ${tx.from} expects nonce ${tx.expectedNonce} next`;
}

/** Nonces expectedNonce..nonce-1 must all commit first; the node has none for expectedNonce. */
function gapMessage(tx: SentTx): string {
  const missing =
    tx.nonce - 1 === tx.expectedNonce
      ? `nonce ${tx.expectedNonce} does`
      : `nonces ${tx.expectedNonce}..${tx.nonce - 1} do`;
  return `${nonceFacts(tx)}: it is pending behind a gap and will not commit until ${missing}`;
}

/** Why the node refused the nonce, after nonceFacts (by the node's code). */
const NONCE_REFUSALS: Readonly<Record<string, (tx: SentTx, reason: string) => string>> = {
  NONCE_TOO_LOW: (tx) => `nonce ${tx.nonce} is already used by a committed transaction; the node refused it`,
  NONCE_TAKEN: (tx) =>
    `another pending transaction already uses nonce ${tx.nonce}; the node refused this one`,
  NONCE_TOO_HIGH: (_tx, reason) => `the node refused it: ${reason}`,
};

/**
 * Submits; a refusal of the nonce comes back as the error (the caller reports it with both
 * nonces), anything else — unreachable node, bad signature, COMMIT_TIMEOUT — is thrown.
 */
async function submit(
  rpc: RpcClient,
  etx: EncodedTransaction,
  mode: 'sync' | 'commit',
): Promise<Submitted | RpcClientError> {
  try {
    return await rpc.submitTx(toHex(etx.bytes), mode);
  } catch (e) {
    if (e instanceof RpcClientError && NONCE_REFUSALS[e.code] !== undefined) return e;
    throw e;
  }
}

/**
 * Waits for the commit. If the node gives up waiting, asks again for the account's next nonce:
 * a gap that opened below the transaction meanwhile is reported here, and the exit code returned.
 */
async function submitAndWait(
  rpc: RpcClient,
  etx: EncodedTransaction,
  tx: SentTx,
  out: CommandContext['out'],
): Promise<Submitted | RpcClientError | number> {
  try {
    return await submit(rpc, etx, 'commit');
  } catch (e) {
    if (!(e instanceof RpcClientError) || e.code !== 'COMMIT_TIMEOUT') throw e;
    const now = { ...tx, expectedNonce: (await rpc.account(tx.from)).nextNonce };
    if (now.nonce > now.expectedNonce) return pendingBehindGap(out, now);
    throw e; // still in line (or dropped): the node's "not committed within …" stands
  }
}

/** --wait for a transaction that cannot commit yet: say why at once instead of timing out. */
function pendingBehindGap(out: CommandContext['out'], tx: SentTx): number {
  const error = gapMessage(tx);
  out.result(
    { ok: false, code: 'NONCE_GAP', error, ...tx, pending: true, height: null, receipt: null },
    () => error,
  );
  return EXIT_PENDING;
}

/** The node refused the nonce: the same facts, as the framework prints errors (exit 1). */
function refused(out: CommandContext['out'], tx: SentTx, e: RpcClientError): number {
  const why = NONCE_REFUSALS[e.code]?.(tx, e.message) ?? e.message;
  const error = `${nonceFacts(tx)}: ${why}`;
  if (out.json) out.result({ ok: false, code: e.code, error, ...tx, pending: false }, () => error);
  else process.stderr.write(`error: ${error} [${e.code}]\n`);
  return EXIT_FAILED;
}

/** Committed (with --wait) or admitted (without); without --wait a gap is a note, not a failure. */
function sent(out: CommandContext['out'], tx: SentTx, r: Submitted, wait: boolean): number {
  const result = {
    id: r.id,
    height: r.height ?? null,
    receipt: r.receipt ?? null,
    nonce: tx.nonce,
    from: tx.from,
    expectedNonce: tx.expectedNonce,
    pending: r.height === undefined,
    ...(r.confirmations === undefined ? {} : { confirmations: r.confirmations }),
  };
  out.result(result, () =>
    wait
      ? `committed ${r.id} at height ${r.height}${r.confirmations === undefined ? '' : ` after ${r.confirmations} confirmations (probabilistic finality: ${r.confirmations} blocks of proof of work were mined on it)`}: ${r.receipt?.ok ? 'ok' : `failed (${r.receipt?.code})`}`
      : `submitted ${r.id} (nonce ${tx.nonce}); check with: verity query tx ${r.id}`,
  );
  if (!wait && tx.nonce > tx.expectedNonce) out.info(`note: ${gapMessage(tx)}`);
  return wait && r.receipt && !r.receipt.ok ? EXIT_FAILED : EXIT_OK;
}

export const txSend: Command = {
  name: 'tx send',
  summary: 'sign and submit a transaction (fetches the nonce); --wait returns once it is committed',
  synopsis:
    '--key FILE (--to ADDR --amount N | --put KEY=VALUE | --stake N | --unstake N | --register-validator NAME [--bls-key FILE] [--vrf-key FILE] | --unjail | --membership --voters LIST [--learners LIST]) [--rpc URL] [--wait] [--nonce N]',
  description: [
    "Signs with the account's next nonce as the node sees it (committed plus pending) unless --nonce",
    'is given. A nonce above that is pending behind a gap: the node keeps the transaction, but it',
    'cannot commit before the missing nonces do, so --wait does not wait: it says so and exits 5',
    '(--json: ok false, code NONCE_GAP, pending, nonce, expectedNonce); without --wait it is a note',
    'on stderr. A nonce the node refuses (already used, taken by another pending transaction, too',
    'far ahead) is exit 1, naming both nonces.',
    'On a Proof-of-Work chain a block commits once k blocks are mined on it, so --wait takes about k',
    'block intervals and says so (--json: confirmations); the node waits up to three times that.',
    '--membership asks the engine (Raft, on a chain without staking) to run with --voters as voters and',
    '--learners as learners; both take validator names (as the node lists them: `verity query',
    'validators`) or addresses, comma-separated. Only a validator may ask; an unknown name is exit 2.',
    'Exit codes: 0 committed (without --wait: submitted), 1 refused or failed receipt, 2 usage',
    'error, 5 pending behind a nonce gap (--wait).',
  ].join('\n'),
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
    const rpc = client(values);
    const op = await operationFromFlags(values, required(values, 'key'), () => validatorDirectory(rpc));
    const explicitNonce = str(values, 'nonce') === undefined ? undefined : intOption(values, 'nonce', 0);
    const wait = values.wait === true;
    const passphrase = passphraseFromEnv(str(values, 'passphrase-env'));
    const key = await loadKey(required(values, 'key'), {
      expect: 'ed25519',
      ...(passphrase === undefined ? {} : { passphrase }),
    });
    const status = await rpc.status();
    const from = formatAddress(addressFromPublicKey(key.publicKey));
    // Asked even with --nonce: a nonce above it cannot commit yet, and --wait must not wait for it.
    const expectedNonce = (await rpc.account(from)).nextNonce;
    const nonce = explicitNonce ?? expectedNonce;
    const etx = signTransaction({ chainId: status.chainId, sender: key.publicKey, nonce, op }, key.secretKey);
    return deliver(rpc, etx, { id: toHex(etx.id), from, nonce, expectedNonce }, wait, out);
  },
};

/** The validators the node lists for the next block (on a chain without staking: genesis's), by name. */
async function validatorDirectory(rpc: RpcClient): Promise<Array<{ name: string; address: Uint8Array }>> {
  const r = await rpc.get<{ validators?: Array<{ name?: unknown; address?: unknown }> }>('/validators');
  return (r.validators ?? []).flatMap((v) =>
    typeof v.name === 'string' && typeof v.address === 'string'
      ? [{ name: v.name, address: parseAddress(v.address) }]
      : [],
  );
}

/**
 * Submits a signed transaction and reports the outcome — what `tx send` and `tx broadcast` share:
 * the same output, and the same exit codes (0, 1 refused or failed receipt, 5 behind a nonce gap).
 */
async function deliver(
  rpc: RpcClient,
  etx: EncodedTransaction,
  tx: SentTx,
  wait: boolean,
  out: CommandContext['out'],
): Promise<number> {
  const behindGap = tx.nonce > tx.expectedNonce;
  // Behind a gap it is only admitted (mode=sync): the node keeps it for when the gap fills, and
  // waiting for a commit that needs other transactions first would only run into the timeout.
  const r = wait && !behindGap ? await submitAndWait(rpc, etx, tx, out) : await submit(rpc, etx, 'sync');
  if (typeof r === 'number') return r;
  if (r instanceof RpcClientError) return refused(out, tx, r);
  return wait && behindGap ? pendingBehindGap(out, tx) : sent(out, tx, r, wait);
}

/**
 * The signed transaction in FILE ('-': standard input): the JSON `tx sign --out` (or `--json`)
 * writes, or the hex `tx sign` prints.
 */
async function readSignedTx(file: string): Promise<EncodedTransaction> {
  let text: string;
  try {
    text = file === '-' ? await streamText(process.stdin) : await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const trimmed = text.trim();
  let raw: unknown = trimmed;
  if (!/^(0x)?[0-9a-fA-F]+$/.test(trimmed)) {
    try {
      raw = (JSON.parse(trimmed) as { raw?: unknown } | null)?.raw;
    } catch {
      raw = undefined;
    }
  }
  if (typeof raw !== 'string' || !/^(0x)?([0-9a-fA-F]{2})+$/.test(raw))
    throw new UsageError(
      `${file} is not a signed transaction: expected what \`verity tx sign\` writes (its --out JSON, or the hex it prints)`,
    );
  return decodeTransaction(fromHex(raw)); // a damaged transaction is its TxError (exit 1)
}

export const txBroadcast: Command = {
  name: 'tx broadcast',
  summary: 'submit a transaction signed offline by `verity tx sign`; --wait returns once it is committed',
  synopsis: 'FILE [--rpc URL] [--wait]',
  positionals: ['FILE'],
  description: [
    'FILE holds what `verity tx sign` wrote: its --out (or --json) JSON, or the hex it prints; - reads',
    "standard input. It is checked against the node's chain first. Outputs and exit codes are those of",
    "`verity tx send`: a nonce above the account's next nonce is pending behind a gap (with --wait:",
    'exit 5, --json code NONCE_GAP); a nonce the node refuses is exit 1, naming both nonces.',
    'Exit codes: 0 committed (without --wait: submitted), 1 refused or failed receipt, 2 usage',
    'error, 5 pending behind a nonce gap (--wait).',
  ].join('\n'),
  options: {
    ...rpcOption,
    wait: { type: 'boolean', description: 'wait until the transaction is in a certified block' },
  },
  examples: [
    'verity tx sign --key alice.json --chain-id verity-local --nonce 0 --to verity1… --amount 10 --out tx.json',
    'verity tx broadcast tx.json --rpc :26601 --wait',
    'verity tx sign … | verity tx broadcast - --wait --json',
  ],
  async run({ values, positionals, out }) {
    const file = positionals[0] as string;
    const rpc = client(values);
    const etx = await readSignedTx(file);
    const status = await rpc.status();
    if (etx.tx.chainId !== status.chainId)
      throw new TxError(
        'TX_WRONG_CHAIN',
        `${file} is signed for chain "${etx.tx.chainId}" but the node at ${rpc.base} runs "${status.chainId}"; sign it again with --chain-id ${status.chainId}`,
      );
    verifyTransaction(etx, status.chainId); // a bad signature: exit 1 before anything is sent
    const from = formatAddress(etx.from);
    const expectedNonce = (await rpc.account(from)).nextNonce;
    const tx: SentTx = { id: toHex(etx.id), from, nonce: etx.tx.nonce, expectedNonce };
    return deliver(rpc, etx, tx, values.wait === true, out);
  },
};

export const queryStatus: Command = {
  name: 'query status',
  summary: 'node status: height, latest hash, engine, peers, sync state',
  synopsis: '[--rpc URL]',
  options: { ...rpcOption },
  async run({ values, out }) {
    show(out, await client(values).status(), renderStatus);
    return EXIT_OK;
  },
};

export const queryBlock: Command = {
  name: 'query block',
  summary: 'a committed block with its header and transactions (default: the latest)',
  synopsis: '[HEIGHT | --hash HEX] [--rpc URL]',
  optionalPositionals: ['HEIGHT'],
  description: 'Without HEIGHT or --hash: the latest committed block.',
  options: {
    hash: {
      type: 'string',
      valueName: 'HEX',
      description: 'the block with this header hash (64 hex digits)',
    },
    ...rpcOption,
  },
  examples: ['verity query block', 'verity query block 42 --json', 'verity query block --hash 3f2a…'],
  async run({ values, positionals, out }) {
    const h = positionals[0];
    const hash = str(values, 'hash');
    if (h !== undefined && hash !== undefined) throw new UsageError('give HEIGHT or --hash, not both');
    if (h !== undefined && !/^\d+$/.test(h)) throw new UsageError('HEIGHT must be a non-negative integer');
    if (hash !== undefined && !/^(0x)?[0-9a-fA-F]{64}$/.test(hash))
      throw new UsageError(`--hash must be a block hash: 64 hex digits, got "${hash.slice(0, 80)}"`);
    const query = hash !== undefined ? `?hash=${hash}` : h !== undefined ? `?height=${h}` : '';
    show(out, await client(values).get(`/block${query}`), renderBlock);
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
    show(out, await client(values).get(`/tx?id=${encodeURIComponent(positionals[0] as string)}`), renderTx);
    return EXIT_OK;
  },
};

export const queryTxs: Command = {
  name: 'query txs',
  summary: "an account's committed transactions (newest first), or every transaction of a height range",
  synopsis: '(--account ADDR [--limit N] [--before H] | --from H [--to H]) [--rpc URL]',
  description: [
    'With --account: the transactions ADDR sent or received (transfers), newest first, from the',
    "node's account index; --before H pages on (the answer says where the next page starts).",
    'With --from/--to: every transaction of those blocks (at most 100), in order.',
  ].join('\n'),
  options: {
    account: { type: 'string', valueName: 'ADDR', description: 'the account (verity1…)' },
    limit: { type: 'string', valueName: 'N', description: 'at most N transactions (1–100, default 20)' },
    before: { type: 'string', valueName: 'H', description: 'only below height H (the next page)' },
    from: { type: 'string', valueName: 'H', description: 'first height' },
    to: { type: 'string', valueName: 'H', description: 'last height (default: the latest)' },
    ...rpcOption,
  },
  examples: [
    'verity query txs --account verity1…',
    'verity query txs --account verity1… --before 120 --json',
    'verity query txs --from 1 --to 50',
  ],
  async run({ values, out }) {
    const account = str(values, 'account');
    const range = str(values, 'from') !== undefined || str(values, 'to') !== undefined;
    if ((account === undefined) === !range) throw new UsageError('give --account ADDR, or --from H [--to H]');
    const params = new URLSearchParams();
    if (account !== undefined) {
      params.set('account', account);
      params.set('limit', String(intOption(values, 'limit', 20, 1, 100)));
      if (str(values, 'before') !== undefined) params.set('before', String(intOption(values, 'before', 0)));
    } else {
      if (str(values, 'limit') !== undefined || str(values, 'before') !== undefined)
        throw new UsageError('--limit and --before go with --account');
      params.set('from', String(intOption(values, 'from', 1, 1)));
      if (str(values, 'to') !== undefined) params.set('to', String(intOption(values, 'to', 0, 1)));
    }
    show(out, await client(values).get(`/txs?${params}`), (d) => renderTxs(d, account));
    return EXIT_OK;
  },
};

const consistencyOption = {
  consistency: {
    type: 'string',
    valueName: 'LEVEL',
    choices: ['local', 'linearizable', 'lease'],
    description:
      "local (default: this node's committed state), linearizable or lease (confirmed by the engine first; raft only)",
  },
} as const;

/** `&consistency=…` when the flag is given (checked by the node: a bad level is its 400). */
function consistencyQuery(values: Record<string, unknown>): string {
  const level = values.consistency;
  return typeof level === 'string' ? `&consistency=${encodeURIComponent(level)}` : '';
}

export const queryAccount: Command = {
  name: 'query account',
  summary: 'balance, stake and nonce of an account',
  synopsis: 'ADDRESS [--rpc URL] [--consistency local|linearizable|lease]',
  positionals: ['ADDRESS'],
  options: { ...rpcOption, ...consistencyOption },
  async run({ values, positionals, out }) {
    const address = encodeURIComponent(positionals[0] as string);
    show(
      out,
      await client(values).get(`/account?address=${address}${consistencyQuery(values)}`),
      renderAccount,
    );
    return EXIT_OK;
  },
};

export const queryRecord: Command = {
  name: 'query record',
  summary: 'a data record by key',
  synopsis: 'KEY [--rpc URL] [--consistency local|linearizable|lease]',
  positionals: ['KEY'],
  options: { ...rpcOption, ...consistencyOption },
  async run({ values, positionals, out }) {
    const key = encodeURIComponent(positionals[0] as string);
    show(out, await client(values).get(`/record?key=${key}${consistencyQuery(values)}`), renderRecord);
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
    const { bundleGuarantees, parseGenesis, schemes, trustAnchor, verifyBundle } = await loadVerification();
    const genesis = parseGenesis(JSON.parse(readFileSync(genesisPath, 'utf8')));
    const bundle = await client(values).get(`/proof/consistency?from=${from}&to=${to}`);
    const r = verifyBundle(bundle, trustAnchor(genesis), { schemes });
    if (!r.ok) {
      out.result(r, () => `INCONSISTENT [${r.code}]: ${r.reason}`);
      return EXIT_FAILED;
    }
    out.result(
      { ok: true, ...r.value },
      () =>
        `CONSISTENT: the log at height ${to} extends the log at height ${from} — ${bundleGuarantees(r.value).join('; ')}\n${JSON.stringify(r.value, null, 2)}`,
    );
    return EXIT_OK;
  },
};

export const queryValidators: Command = {
  name: 'query validators',
  summary: 'the validator set in force at a height (default: the next block)',
  synopsis: '[--height H] [--rpc URL]',
  description: [
    "Prints the set that signs block H: its epoch, and each validator's address and power. On a",
    'chain without staking it is the genesis set at every height. Sets are known up to the end of',
    'the epoch after the head (a set is computed at the end of the epoch before it).',
  ].join('\n'),
  options: {
    ...rpcOption,
    height: { type: 'string', valueName: 'H', description: 'the block whose set to show' },
  },
  async run({ values, out }) {
    const height = str(values, 'height') === undefined ? undefined : intOption(values, 'height', 0);
    show(
      out,
      await client(values).get(`/validators${height === undefined ? '' : `?height=${height}`}`),
      renderValidators,
    );
    return EXIT_OK;
  },
};

export const queryValidator: Command = {
  name: 'query validator',
  summary: "a validator candidate's staking record: status, bonded and unbonding stake",
  synopsis: 'ADDRESS [--rpc URL]',
  positionals: ['ADDRESS'],
  options: { ...rpcOption },
  async run({ values, positionals, out }) {
    const address = encodeURIComponent(positionals[0] as string);
    show(out, await client(values).get(`/validator?address=${address}`), renderCandidate);
    return EXIT_OK;
  },
};
