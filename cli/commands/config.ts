/**
 * `verity config check --home DIR`: everything `verity start` would read from a node home, checked
 * without starting it — config.toml against the schema (every problem, not just the first), the
 * genesis, the key files and whether they match the genesis, and the sign fence.
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { VerityError } from '../../crypto/errors.ts';
import type { KeyType } from '../../crypto/keyfile.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { loadKey, passphraseFromEnv } from '../../src/keystore.ts';
import {
  ConfigError,
  checkConfigToml,
  keySpec,
  type NodeConfig,
  readConfigDocument,
} from '../../src/node/config.ts';
import { CONFIG_REFERENCE_PATH, defaultText } from '../../src/node/config-reference.ts';
import { homePaths } from '../../src/node/home.ts';
import { type Command, EXIT_FAILED, EXIT_OK, required, str } from '../framework.ts';

/** One thing wrong with a home: where (a config key, or a file of the home), what, and what to do. */
export interface HomeProblem {
  readonly key: string;
  readonly message: string;
  readonly fix: string;
}

export interface HomeCheck {
  readonly ok: boolean;
  readonly home: string;
  /** The config file checked. */
  readonly path: string;
  readonly problems: HomeProblem[];
  readonly chainId?: string;
  readonly engine?: string;
  readonly validators?: number;
  /** The fault bound the engine states for this genesis (Algorand: full or sampled committees). */
  readonly bound?: string;
  readonly moniker?: string;
  readonly listen?: { readonly p2p: string; readonly rpc: string };
  readonly peers?: number;
  /** This home's key in the genesis: a validator (its index and name), or none (a full node). */
  readonly role?: 'validator' | 'full node';
  readonly validator?: { readonly index: number; readonly name: string };
  /** Key files found, and whether they are encrypted (checked only as far as the header then). */
  readonly keys?: ReadonlyArray<{ readonly file: string; readonly encrypted: boolean }>;
  /** What the sign fence says this validator signed (null: nothing yet, or no fence). */
  readonly signFence?: { readonly maxHeight: number; readonly maxViewRound: number } | null;
}

const errnoOf = (e: unknown) => (e as NodeJS.ErrnoException).code;

/** The peer id of a p2p.peers entry ("<peerId>@<multiaddr>" or "<multiaddr>/p2p/<peerId>"). */
const peerIdOf = (entry: string): string | undefined =>
  entry.includes('@') ? entry.slice(0, entry.indexOf('@')) : /\/p2p\/([^/]+)/.exec(entry)?.[1];

function configProblemFix(key: string, message: string, configPath: string): string {
  if (/^unknown (key|section)/.test(message)) return `remove it from ${configPath}, or fix its spelling`;
  const spec = keySpec(key);
  if (spec === undefined) return `fix it in ${configPath}`;
  return `set ${key} in ${configPath} to a valid value, or remove it for the default ${defaultText(spec).replace(/`/g, '')} (every key: ${CONFIG_REFERENCE_PATH})`;
}

async function checkConfig(configPath: string, problems: HomeProblem[]): Promise<NodeConfig | undefined> {
  let doc: Record<string, unknown>;
  try {
    doc = await readConfigDocument(configPath);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const missing = e.meta.errno === 'ENOENT';
    problems.push({
      key: 'config.toml',
      message: e.message,
      fix: missing
        ? 'is this a node home? Create one with `verity init --home DIR` (or `verity testnet`)'
        : e.meta.errno === undefined
          ? 'fix the TOML syntax where the message says'
          : 'make the file readable by this user',
    });
    return undefined;
  }
  const { config, problems: found } = checkConfigToml(doc);
  for (const p of found)
    problems.push({ key: p.key, message: p.message, fix: configProblemFix(p.key, p.message, configPath) });
  return config;
}

async function checkGenesis(path: string, problems: HomeProblem[]): Promise<Genesis | undefined> {
  const problem = (message: string, fix: string) => {
    problems.push({ key: 'genesis.json', message, fix });
    return undefined;
  };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return problem(
      `cannot read ${path}: ${errnoOf(e) ?? (e as Error).message}`,
      "copy the chain's genesis.json into the home (`verity init --home DIR --genesis FILE` makes a home that joins a chain)",
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return problem(`${path} is not valid JSON`, "replace it with the chain's genesis.json");
  }
  // Loaded here, not with the command table: they bring every engine (--help stays light).
  const [{ parseGenesis }, { checkEngine }] = await Promise.all([
    import('../../ledger/genesis.ts'),
    import('../../src/genesis-builder.ts'),
  ]);
  try {
    const genesis = parseGenesis(json);
    checkEngine(genesis.engine.name, genesis.engine.params, genesis.validators);
    return genesis;
  } catch (e) {
    if (!(e instanceof VerityError)) throw e;
    return problem(
      `${path}: ${e.message}`,
      "replace it with the chain's own genesis.json (every node of a chain needs the same file)",
    );
  }
}

interface KeyInfo {
  readonly publicKey: Uint8Array;
  readonly encrypted: boolean;
  readonly extra?: Readonly<Record<string, string | number>>;
}

/** A key file of the home: undefined if absent; a problem if it does not parse (or open). */
async function checkKey(
  path: string,
  file: string,
  expect: KeyType,
  passphrase: string | undefined,
  problems: HomeProblem[],
): Promise<KeyInfo | undefined> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    problems.push({
      key: file,
      message: `cannot read the key file ${path}: ${errnoOf(e) ?? 'not valid JSON'}`,
      fix: 'restore the key file from its backup',
    });
    return undefined;
  }
  try {
    const key = await loadKey(path, { expect, ...(passphrase === undefined ? {} : { passphrase }) });
    return {
      publicKey: key.publicKey,
      encrypted: passphrase !== undefined && (json.secret as { encoding?: unknown })?.encoding !== 'plain',
      ...(key.extra === undefined ? {} : { extra: key.extra }),
    };
  } catch (e) {
    if (!(e instanceof VerityError)) throw e;
    // Encrypted and no passphrase given: the header (type, public key) was checked before the
    // secret was reached; whether the passphrase opens it is left to --passphrase-env.
    if (
      e.code === 'KEYFILE_PASSPHRASE_REQUIRED' &&
      json.type === expect &&
      typeof json.publicKey === 'string'
    )
      return {
        publicKey: fromHex(json.publicKey),
        encrypted: true,
        ...(typeof json.extra === 'object' && json.extra !== null
          ? { extra: json.extra as Record<string, string | number> }
          : {}),
      };
    problems.push({
      key: file,
      message: e.message,
      fix:
        e.code === 'KEYFILE_BAD_PASSPHRASE'
          ? 'check the passphrase in the --passphrase-env variable'
          : 'restore the key file from its backup',
    });
    return undefined;
  }
}

/** Checks what `verity start --home HOME` reads, without starting anything or writing a byte. */
export async function checkHome(home: string, opts: { passphrase?: string } = {}): Promise<HomeCheck> {
  const paths = homePaths(home);
  const problems: HomeProblem[] = [];
  const config = await checkConfig(paths.config, problems);
  const genesis = await checkGenesis(paths.genesis, problems);
  const rel = (p: string) => relative(home, p);
  const before = problems.length;
  const ed = await checkKey(paths.ed25519Key, rel(paths.ed25519Key), 'ed25519', opts.passphrase, problems);
  // A key file that is there but does not parse or open: which role it has is unknown.
  const edBroken = problems.length > before;
  const blsKey = await checkKey(paths.blsKey, rel(paths.blsKey), 'bls12-381', opts.passphrase, problems);
  const share = await checkKey(
    paths.blsShareKey,
    rel(paths.blsShareKey),
    'bls12-381-threshold-share',
    opts.passphrase,
    problems,
  );
  const vrfKey = await checkKey(
    paths.vrfKey,
    rel(paths.vrfKey),
    'ecvrf-edwards25519',
    opts.passphrase,
    problems,
  );
  const keys = (
    [
      [paths.ed25519Key, ed],
      [paths.blsKey, blsKey],
      [paths.blsShareKey, share],
      [paths.vrfKey, vrfKey],
    ] as const
  ).flatMap(([p, k]) => (k === undefined ? [] : [{ file: rel(p), encrypted: k.encrypted }]));

  let role: HomeCheck['role'];
  let validator: HomeCheck['validator'];
  if (genesis !== undefined && !edBroken) {
    const v = ed === undefined ? undefined : genesis.validators.byPublicKey(ed.publicKey);
    role = v === undefined ? 'full node' : 'validator';
    if (v !== undefined) {
      validator = { index: v.index, name: v.name };
      const hotstuff = genesis.engine.name === 'hotstuff';
      const threshold = genesis.engine.params.qc === 'threshold';
      if (blsKey === undefined && hotstuff)
        problems.push({
          key: rel(paths.blsKey),
          message: `missing: validator ${v.index} (${v.name}) signs its HotStuff votes with its BLS key`,
          fix: 'restore keys/bls.json from the backup made when the validator was created',
        });
      else if (blsKey !== undefined && toHex(blsKey.publicKey) !== toHex(v.blsPublicKey))
        problems.push({
          key: rel(paths.blsKey),
          message: `its public key is not validator ${v.index}'s BLS key in the genesis`,
          fix: "put this validator's own bls.json in keys/ (each validator home has its own)",
        });
      if (
        vrfKey !== undefined &&
        v.vrfPublicKey !== undefined &&
        toHex(vrfKey.publicKey) !== toHex(v.vrfPublicKey)
      )
        problems.push({
          key: rel(paths.vrfKey),
          message: `its public key is not validator ${v.index}'s VRF key in the genesis`,
          fix: "put this validator's own vrf.json in keys/",
        });
      // Validators pass on each other's gossip to non-validators only (tx-gossip.ts): one missing
      // from p2p.peers (and not dialling this one) leaves it seeing that one's transactions in
      // blocks only.
      if (config !== undefined) {
        const listed = new Set(config.p2p.peers.map(peerIdOf));
        for (const w of genesis.validators.validators)
          if (w.index !== v.index && !listed.has(w.peerId))
            problems.push({
              key: 'p2p.peers',
              message: `does not list validator ${w.index} (${w.name}): validators pass on each other's transactions to non-validators only, so this one would see those ${w.name}'s clients send only once a block carries them`,
              fix: `add "${w.peerId}@<its p2p address>" to p2p.peers in ${paths.config} (verity testnet lists every validator)`,
            });
      }
      const sharePublicKey = genesis.threshold?.sharePublicKeys[v.index];
      if (share === undefined && hotstuff && threshold)
        problems.push({
          key: rel(paths.blsShareKey),
          message: `missing: with qc=threshold, validator ${v.index} (${v.name}) signs with its key share`,
          fix: 'restore keys/bls-share.json from the backup made when the validator was created',
        });
      else if (
        share !== undefined &&
        sharePublicKey !== undefined &&
        toHex(share.publicKey) !== toHex(sharePublicKey)
      )
        problems.push({
          key: rel(paths.blsShareKey),
          message: `its public key is not validator ${v.index}'s key share in the genesis`,
          fix: "put this validator's own bls-share.json in keys/",
        });
    }
  }

  // The fence of a validator key (a start loads it when the key is one of the genesis).
  let signFence: HomeCheck['signFence'];
  if (ed !== undefined && (genesis === undefined || validator !== undefined)) {
    const { FileSignFence } = await import('../../src/storage/sign-fence-file.ts');
    const store = new FileSignFence(paths.signFence);
    try {
      const { fence, damaged } = await store.load();
      if (fence === undefined && damaged > 0)
        problems.push({
          key: `${rel(paths.signFence)}.{0,1}`,
          message: `both copies of the sign fence (${store.where}) are damaged: the node will refuse to start, since it cannot tell what its key signed`,
          fix: 'if HOME/data/wal is intact, delete both copies: the node rebuilds them from the WAL on start',
        });
      signFence =
        fence === undefined || fence.seq === 0
          ? null
          : { maxHeight: fence.maxHeight, maxViewRound: fence.maxViewRound };
    } catch (e) {
      if (!(e instanceof VerityError)) throw e;
      problems.push({
        key: `${rel(paths.signFence)}.{0,1}`,
        message: e.message,
        fix: 'make the files readable by the user that runs the node',
      });
    }
  }

  return {
    ok: problems.length === 0,
    home,
    path: paths.config,
    problems,
    ...(genesis === undefined
      ? {}
      : {
          chainId: genesis.chainId,
          engine: genesis.engine.name,
          validators: genesis.validators.size,
          ...(await engineBound(genesis)),
        }),
    ...(config === undefined
      ? {}
      : {
          moniker: config.node.moniker,
          listen: { p2p: config.p2p.listen, rpc: config.rpc.listen },
          peers: config.p2p.peers.length,
        }),
    ...(role === undefined ? {} : { role }),
    ...(validator === undefined ? {} : { validator }),
    keys,
    ...(signFence === undefined ? {} : { signFence }),
  };
}

/** What the engine says of the bound this genesis gets, when it says something. */
async function engineBound(genesis: Genesis): Promise<{ bound?: string }> {
  const { checkEngine } = await import('../../src/genesis-builder.ts');
  const bound = checkEngine(genesis.engine.name, genesis.engine.params, genesis.validators).bound;
  return typeof bound === 'string' ? { bound } : {};
}

function describe(r: HomeCheck): string {
  const head = r.ok
    ? `config OK: ${r.path}`
    : `config INVALID: ${r.path} (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'})`;
  const lines = [head];
  for (const p of r.problems) lines.push(`  ${p.key}: ${p.message}`, `    fix: ${p.fix}`);
  const summary: string[] = [];
  if (r.chainId !== undefined)
    summary.push(
      `chain:   ${r.chainId} (${r.engine}, ${r.validators} validator${r.validators === 1 ? '' : 's'})`,
    );
  if (r.bound !== undefined) summary.push(`bound:   ${r.bound}`);
  if (r.role !== undefined)
    summary.push(
      `role:    ${r.validator === undefined ? 'full node (no validator key of this genesis)' : `validator ${r.validator.index} (${r.validator.name})`}`,
    );
  if (r.listen !== undefined) {
    summary.push(`p2p:     ${r.listen.p2p}, ${r.peers} peer${r.peers === 1 ? '' : 's'} configured`);
    summary.push(`rpc:     ${r.listen.rpc}`);
  }
  if (r.signFence !== undefined)
    summary.push(
      `signed:  ${r.signFence === null ? 'nothing yet' : `up to height ${r.signFence.maxHeight}${r.signFence.maxViewRound > 0 ? `, view ${r.signFence.maxViewRound}` : ''} (sign fence)`}`,
    );
  const encrypted = (r.keys ?? []).filter((k) => k.encrypted).map((k) => k.file);
  if (encrypted.length > 0) summary.push(`keys:    encrypted: ${encrypted.join(', ')}`);
  if (summary.length > 0) lines.push(...(r.ok ? [] : ['']), ...summary.map((s) => `  ${s}`));
  return lines.join('\n');
}

export const configCheck: Command = {
  name: 'config check',
  summary: "check a node home's config.toml, genesis and key files without starting the node",
  synopsis: '--home DIR [--passphrase-env VAR]',
  description: [
    'Reads what `verity start --home DIR` reads and reports every problem, each with the key (or',
    "the home's file) it concerns and what to do, instead of stopping at the first: config.toml",
    `against the config schema (every key, type and default: ${CONFIG_REFERENCE_PATH}), the genesis`,
    '(and its engine parameters), the key files (they parse and match the genesis), and the sign',
    'fence. Writes nothing; a running node does not matter. Valid: "config OK: PATH" and a summary',
    '(chain, engine, role, listen addresses, peers). Encrypted keys are checked as far as their',
    'header unless --passphrase-env names their passphrase.',
    'Exit 0 valid, 1 invalid (each problem printed), 2 usage error.',
  ].join('\n'),
  options: {
    home: { type: 'string', valueName: 'DIR', description: 'node home directory' },
    'passphrase-env': {
      type: 'string',
      valueName: 'VAR',
      description: 'passphrase of encrypted key files (also checks that it opens them)',
    },
  },
  examples: [
    'verity config check --home ./mynode',
    'verity config check --home .verity/testnet/node0 --json | jq .problems',
  ],
  async run({ values, out }) {
    const home = resolve(required(values, 'home'));
    const passphrase = passphraseFromEnv(str(values, 'passphrase-env'));
    const r = await checkHome(home, passphrase === undefined ? {} : { passphrase });
    out.result(r, () => describe(r));
    return r.ok ? EXIT_OK : EXIT_FAILED;
  },
};
