import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VerityError } from '../../crypto/errors.ts';
import type { ChainPlan } from '../../src/genesis-builder.ts';
import { passphraseFromEnv, saveKey, writeFileAtomic } from '../../src/keystore.ts';
import { applyOverrides, configToToml, defaultConfig, loadConfig } from '../../src/node/config.ts';
import { NodeRunningError } from '../../src/node/errors.ts';
import { homePaths } from '../../src/node/home.ts';
import type { VerityNode } from '../../src/node/node.ts';
import { manifestPath, readManifest, type TestnetManifest } from '../../src/node/testnet-manifest.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import type { Logger } from '../../src/runtime/ports.ts';
import type { Halt } from '../../src/runtime/runtime.ts';
import {
  type Command,
  type CommandContext,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  forceOption,
  intOption,
  type Output,
  refusingOverwrite,
  required,
  str,
  UsageError,
} from '../framework.ts';
import { DEFAULT_ENGINE, LOCAL_TESTNET_DIR } from './defaults.ts';
import { parseEngineFlag } from './engine-flag.ts';
import { heightsProgress } from './progress.ts';

export { DEFAULT_ENGINE, LOCAL_TESTNET_DIR };

/**
 * Node, network, engine and genesis-building code load only in the commands that use them, so
 * that `verity --help`, queries and completion start in a fraction of the time (lazy imports).
 */
function testnetModule() {
  return import('../../src/node/testnet.ts');
}

function collectSets(values: Record<string, unknown>): string[] {
  const v = values.set;
  return Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [];
}

/**
 * Runs a command that starts nodes. A node already running in a home it would use is the
 * invocation's mistake and nothing was touched: the message alone (no usage text), exit 2.
 */
async function refusingRunning(out: Output, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (e) {
    if (!(e instanceof NodeRunningError)) throw e;
    if (out.json) process.stdout.write(`${JSON.stringify({ ok: false, code: e.code, error: e.message })}\n`);
    else process.stderr.write(`error: ${e.message}\n`);
    return EXIT_USAGE;
  }
}

export const init: Command = {
  name: 'init',
  summary: 'create one node home (a single-validator dev chain, or a full node joining --genesis)',
  synopsis: '--home DIR [--chain-id ID] [--engine NAME] [--genesis FILE] [--force]',
  description:
    'Every option is checked before anything is written. An existing node home is refused (exit 2)\nunless --force is given, which replaces its config, genesis and keys and deletes its chain data.',
  options: {
    home: { type: 'string', valueName: 'DIR', description: 'node home directory to create' },
    'chain-id': {
      type: 'string',
      valueName: 'ID',
      description: 'chain id of a new dev chain (default verity-dev)',
    },
    engine: {
      type: 'string',
      valueName: 'NAME',
      description: `engine of a new dev chain (default ${DEFAULT_ENGINE})`,
    },
    genesis: {
      type: 'string',
      valueName: 'FILE',
      description: 'join an existing chain as a full node instead',
    },
    ...forceOption,
  },
  async run({ values, out }) {
    const home = resolve(required(values, 'home'));
    const paths = homePaths(home);
    const force = values.force === true;
    const genesisFile = str(values, 'genesis');
    if (genesisFile !== undefined && (values['chain-id'] !== undefined || values.engine !== undefined))
      throw new UsageError('--chain-id and --engine describe a new dev chain; they do not go with --genesis');

    // Check and build everything in memory first: a bad option leaves no partial home behind.
    let plan: ChainPlan | undefined;
    let genesisText: string | undefined;
    if (genesisFile !== undefined) {
      try {
        genesisText = await readFile(genesisFile, 'utf8');
      } catch (e) {
        throw new UsageError(
          `cannot read the genesis file ${genesisFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(genesisText);
      } catch {
        throw new UsageError(`the genesis file ${genesisFile} is not valid JSON`);
      }
      const [{ parseGenesis }, { checkEngine }] = await Promise.all([
        import('../../ledger/genesis.ts'),
        import('../../src/genesis-builder.ts'),
      ]);
      const genesis = parseGenesis(json); // a GenesisError says which field is wrong (exit 1)
      checkEngine(genesis.engine.name, genesis.engine.params, genesis.validators);
    } else {
      const { name, params } = parseEngineFlag(str(values, 'engine') ?? DEFAULT_ENGINE);
      const { planChain } = await import('../../src/genesis-builder.ts');
      plan = planChain({
        chainId: str(values, 'chain-id') ?? 'verity-dev',
        validators: 1,
        engine: name,
        engineParams: params,
        accounts: 1,
        genesisTime: Date.now(),
      });
    }
    const accountFile = join(home, 'accounts', 'account0.json');
    const dataDir = join(home, 'data');
    if (!force) {
      const existing = [paths.config, paths.genesis, paths.keys, accountFile, dataDir].find((p) =>
        existsSync(p),
      );
      if (existing !== undefined)
        throw new UsageError(
          `${home} is already a node home (${existing} exists); use --force to replace it (its keys and chain data are lost)`,
        );
    } else {
      await rm(paths.keys, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    }

    await mkdir(home, { recursive: true });
    const exclusive = !force;
    let account: { keyFile: string; address: string } | undefined;
    await refusingOverwrite(async () => {
      if (plan !== undefined) {
        const v = plan.validators[0] as ChainPlan['validators'][number];
        const a = plan.accounts[0] as ChainPlan['accounts'][number];
        await saveKey(paths.ed25519Key, v.ed25519, { overwrite: force });
        await saveKey(paths.blsKey, v.bls, { overwrite: force });
        if (v.blsShare !== undefined) await saveKey(paths.blsShareKey, v.blsShare, { overwrite: force });
        await saveKey(accountFile, a.key, { overwrite: force });
        account = { keyFile: accountFile, address: a.address };
        genesisText = `${JSON.stringify(plan.genesisJson, null, 2)}\n`;
      }
      await writeFileAtomic(paths.genesis, genesisText as string, 0o644, { exclusive });
      // Last: config.toml is what marks the directory as a node home.
      await writeFileAtomic(paths.config, configToToml(defaultConfig('node0')), 0o644, { exclusive });
    });
    out.result(
      { home, config: paths.config, genesis: paths.genesis, ...(account === undefined ? {} : { account }) },
      () =>
        [
          `initialised ${home}`,
          ...(account === undefined ? [] : [`funded account: ${account.address}  key ${account.keyFile}`]),
          `start it with: verity start --home ${home}`,
        ].join('\n'),
    );
    return EXIT_OK;
  },
};

export const start: Command = {
  name: 'start',
  summary: 'run a node until SIGINT/SIGTERM',
  synopsis: '--home DIR [--set section.key=value]… [--log-format json|pretty] [--passphrase-env VAR]',
  description:
    'Config comes from HOME/config.toml; --set overrides any key (e.g. --set rpc.listen=127.0.0.1:8080).',
  options: {
    home: { type: 'string', valueName: 'DIR', description: 'node home directory' },
    set: {
      type: 'string',
      multiple: true,
      valueName: 'K=V',
      description: 'override a config key (repeatable)',
    },
    'log-format': { type: 'string', valueName: 'FMT', description: 'json (default) or pretty' },
    'log-level': { type: 'string', valueName: 'LVL', description: 'debug, info, warn or error' },
    'passphrase-env': { type: 'string', valueName: 'VAR', description: 'passphrase of encrypted key files' },
  },
  async run({ values, out }) {
    // From here on a SIGINT/SIGTERM stops the node, even one that comes while it is starting.
    const stopSignal = stopSignals();
    try {
      return await startAndRun(values, out, stopSignal.received);
    } finally {
      stopSignal.dispose();
    }
  },
};

/** `verity start` once it listens for stop signals: config, logger, the node, then its run. */
async function startAndRun(
  values: CommandContext['values'],
  out: Output,
  stopSignal: Promise<string>,
): Promise<number> {
  const home = resolve(required(values, 'home'));
  const passphrase = passphraseFromEnv(str(values, 'passphrase-env'));
  const sets = collectSets(values);
  const fmt = str(values, 'log-format');
  const lvl = str(values, 'log-level');
  if (fmt !== undefined) sets.push(`node.log_format=${fmt}`);
  if (lvl !== undefined) sets.push(`node.log_level=${lvl}`);
  const fileConfig = await loadConfig(homePaths(home).config); // a bad config.toml: exit 1
  let config: ReturnType<typeof applyOverrides>;
  try {
    config = applyOverrides(fileConfig, sets);
  } catch (e) {
    // loadConfig validated the file, so this is a bad --set / --log-format / --log-level: exit 2.
    if (e instanceof VerityError && e.code === 'CONFIG_INVALID') throw new UsageError(e.message);
    throw e;
  }
  const [{ createLogger }, { createNodeNetwork }, { VerityNode }] = await Promise.all([
    import('../../src/node/logger.ts'),
    import('../../src/node/network.ts'),
    import('../../src/node/node.ts'),
  ]);
  const logger = createLogger({
    level: config.node.logLevel,
    format: config.node.logFormat,
    name: config.node.moniker,
  });
  return refusingRunning(out, async () => {
    const node = await VerityNode.start({
      home,
      config,
      logger,
      network: createNodeNetwork,
      ...(passphrase === undefined ? {} : { passphrase }),
    });
    return runUntilStopped(node, logger, stopSignal);
  });
}

/**
 * SIGINT and SIGTERM, listened for from the start of `verity start`: `received` resolves with the
 * first. Listening only once the node had started left a window — the RPC answering and blocks
 * committing while the runtime started — in which the default action killed the node by signal,
 * leaving its node.pid behind. One that comes while the node starts stops it once it has started.
 */
function stopSignals(): { received: Promise<string>; dispose(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const received = new Promise<string>((resolve) => {
    onSignal = (signal) => resolve(signal);
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    received,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Waits for a stop signal or a consensus halt, then stops the node (and releases its home). */
async function runUntilStopped(
  node: VerityNode,
  logger: Logger,
  stopSignal: Promise<string>,
): Promise<number> {
  const ended = await Promise.race([
    stopSignal.then((signal): { halt?: Halt } => {
      logger.info('shutting down', { signal });
      return {};
    }),
    // Consensus halted (the node's storage failed, or a bug): stop and exit non-zero, so a
    // supervisor notices instead of keeping a node that answers but no longer takes part.
    node.halted.then((halt) => ({ halt })),
  ]);
  await node.stop();
  if (ended.halt !== undefined) {
    process.stderr.write(
      `error: consensus halted on this node: ${ended.halt.message} [${ended.halt.code}]\n`,
    );
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

export const testnet: Command = {
  name: 'testnet',
  summary: 'create a local testnet: genesis, one home per validator, funded accounts, testnet.json',
  synopsis:
    '--validators N --out DIR [--engine NAME] [--base-port P] [--accounts K] [--chain-id ID] [--staking [--candidates C] [--epoch-length L]] [--force]',
  description:
    'Every option is checked before anything is written. A directory that already holds (part of) a\ntestnet is refused (exit 2) unless --force is given, which replaces its keys, genesis, configs\nand manifest and deletes the chain data of its nodes.',
  options: {
    validators: { type: 'string', valueName: 'N', description: 'number of validators (1..64)' },
    out: { type: 'string', valueName: 'DIR', description: 'output directory' },
    engine: { type: 'string', valueName: 'NAME', description: `engine[:k=v,…] (default ${DEFAULT_ENGINE})` },
    'base-port': {
      type: 'string',
      valueName: 'P',
      description: 'node i uses P+2i (p2p) and P+2i+1 (rpc); default 26600',
    },
    accounts: { type: 'string', valueName: 'K', description: 'funded account key files (default 4)' },
    'chain-id': { type: 'string', valueName: 'ID', description: 'chain id (default verity-testnet)' },
    staking: {
      type: 'boolean',
      description:
        'a validator set that changes by stake: genesis validators bond power × 1000; permissioned (the candidates may register)',
    },
    candidates: {
      type: 'string',
      valueName: 'C',
      description: 'with --staking: C more nodes with validator keys, funded, not in genesis (default 0)',
    },
    'epoch-length': {
      type: 'string',
      valueName: 'L',
      description: 'with --staking: blocks per epoch (default 10; unbonding lasts 4 epochs)',
    },
    ...forceOption,
  },
  examples: [
    'verity testnet --validators 4 --out ./net && verity testnet up --dir ./net',
    'verity testnet --validators 4 --staking --candidates 1 --out ./net',
  ],
  async run({ values, out }) {
    if (str(values, 'validators') === undefined) throw new UsageError('--validators is required');
    const n = intOption(values, 'validators', -1, 1, 64);
    const dir = required(values, 'out');
    const { name, params } = parseEngineFlag(str(values, 'engine') ?? DEFAULT_ENGINE);
    const basePort = intOption(values, 'base-port', 26600, 1024, 65000);
    const accounts = intOption(values, 'accounts', 4, 0, 1000);
    const staking = values.staking === true;
    if (!staking && (values.candidates !== undefined || values['epoch-length'] !== undefined))
      throw new UsageError('--candidates and --epoch-length go with --staking');
    const candidates = intOption(values, 'candidates', 0, 0, 64);
    const epochLength = intOption(values, 'epoch-length', 10, 1, 1_000_000);
    // createTestnet checks the rest (engine, chain id, ports) before writing anything.
    const { createTestnet } = await testnetModule();
    const m = await refusingOverwrite(() =>
      createTestnet({
        dir,
        validators: n,
        engine: name,
        engineParams: params,
        basePort,
        accounts,
        chainId: str(values, 'chain-id') ?? 'verity-testnet',
        force: values.force === true,
        ...(staking
          ? {
              staking: {
                mode: 'permissioned',
                epochLength,
                unbondingPeriod: 4 * epochLength,
                powerUnit: '1000',
              },
              candidates,
            }
          : {}),
      }),
    );
    out.result(m, () => describeTestnet(m, dir));
    return EXIT_OK;
  },
};

function describeTestnet(m: TestnetManifest, dir: string): string {
  return [
    `testnet "${m.chainId}" (${m.engine}) in ${dir}`,
    ...m.nodes.map((n) => `  ${n.name}: rpc ${n.rpc}  p2p ${n.p2p}`),
    ...m.accounts.map((a) => `  account ${a.address}  key ${a.keyFile}`),
    `manifest: ${manifestPath(resolve(dir))}`,
    `start it: verity testnet up --dir ${dir}`,
  ].join('\n');
}

async function waitForFirstBlock(
  m: TestnetManifest,
  onTick: (heights: number[]) => void,
  timeoutMs: number,
): Promise<number[]> {
  const clients = m.nodes.map((n) => new RpcClient(n.rpc, { timeoutMs: 2000 }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const heights = await Promise.all(
      clients.map((c) =>
        c.status().then(
          (s) => s.height,
          () => -1,
        ),
      ),
    );
    onTick(heights);
    if (heights.every((h) => h >= 1)) return heights;
    if (Date.now() > deadline)
      throw new UsageError(`no block committed within ${timeoutMs / 1000} s; see HOME/node.log of each node`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function runTestnet(dir: string, out: Output): Promise<number> {
  const { refuseRunningNodes, spawnTestnet } = await testnetModule();
  const m = await readManifest(dir);
  refuseRunningNodes(m);
  out.info(`starting ${m.nodes.length} nodes of "${m.chainId}" (${m.engine}); logs in each node's node.log`);
  const running = spawnTestnet(m);
  let exiting = false;
  const stopAll = async () => {
    if (exiting) return;
    exiting = true;
    out.info('stopping all nodes…');
    await running.stop();
  };
  const died = new Promise<number>((resolveDied) => {
    for (const [i, c] of running.children.entries()) {
      c.once('exit', (code) => {
        if (!exiting) {
          out.info(
            `${m.nodes[i]?.name} exited unexpectedly (code ${code}); see ${join(m.nodes[i]?.home ?? '', 'node.log')}`,
          );
          resolveDied(EXIT_FAILED);
        }
      });
    }
  });
  const interrupted = new Promise<number>((resolveInt) => {
    process.once('SIGINT', () => resolveInt(EXIT_OK));
    process.once('SIGTERM', () => resolveInt(EXIT_OK));
  });
  const progress = heightsProgress(process.stderr, out.json);
  try {
    const heights = await Promise.race([
      waitForFirstBlock(m, progress.tick, 120_000),
      died.then(() => {
        throw new UsageError('a node exited during startup');
      }),
    ]).finally(progress.done);
    out.result(
      {
        chainId: m.chainId,
        engine: m.engine,
        heights,
        nodes: m.nodes.map((n) => ({ name: n.name, rpc: n.rpc })),
      },
      () =>
        [
          `testnet "${m.chainId}" is committing blocks (${m.engine}). RPC endpoints:`,
          ...m.nodes.map((n) => `  ${n.name}: ${n.rpc}`),
          `try: verity query status --rpc ${m.nodes[0]?.rpc}`,
          `     verity tx send --key ${m.accounts[0]?.keyFile ?? 'KEY'} --to ${m.accounts[1]?.address ?? 'ADDR'} --amount 5 --wait`,
          'Ctrl-C stops every node.',
        ].join('\n'),
    );
    const code = await Promise.race([interrupted, died]);
    await stopAll();
    return code;
  } catch (e) {
    await stopAll();
    throw e;
  }
}

export const testnetUp: Command = {
  name: 'testnet up',
  summary: 'start every node of a testnet as a child process; Ctrl-C stops them all',
  synopsis: '--dir DIR',
  options: {
    dir: { type: 'string', valueName: 'DIR', description: 'a directory created by `verity testnet`' },
  },
  async run({ values, out }) {
    return refusingRunning(out, () => runTestnet(required(values, 'dir'), out));
  },
};

export const startLocal: Command = {
  name: 'start-local',
  summary: `run a local 4-validator testnet in ./${LOCAL_TESTNET_DIR} (created on first run, resumed after) — what \`npm start\` does`,
  synopsis: '[--dir DIR] [--engine NAME]',
  options: {
    dir: {
      type: 'string',
      valueName: 'DIR',
      description: `testnet directory (default ${LOCAL_TESTNET_DIR})`,
    },
    engine: {
      type: 'string',
      valueName: 'NAME',
      description: `engine for a new testnet (default ${DEFAULT_ENGINE})`,
    },
  },
  run({ values, out }) {
    return refusingRunning(out, () => runLocal(values, out));
  },
};

async function runLocal(values: CommandContext['values'], out: Output): Promise<number> {
  const dir = str(values, 'dir') ?? LOCAL_TESTNET_DIR;
  const { createTestnet, refuseRunningNodes } = await testnetModule();
  if (!existsSync(manifestPath(resolve(dir)))) {
    const { name, params } = parseEngineFlag(str(values, 'engine') ?? DEFAULT_ENGINE);
    out.info(`creating a 4-validator ${name} testnet in ${dir} (first run)`);
    try {
      await createTestnet({
        dir,
        validators: 4,
        engine: name,
        engineParams: params,
        accounts: 4,
        chainId: 'verity-local',
      });
    } catch (e) {
      // Files but no manifest: an earlier creation was interrupted. Never overwrite keys silently.
      if (e instanceof VerityError && e.code === 'OUTPUT_EXISTS')
        throw new UsageError(
          `${dir} holds part of a testnet but no testnet.json (${e.message}); delete ${dir}, or recreate it with: verity testnet --validators 4 --out ${dir} --force`,
        );
      throw e;
    }
  } else {
    // Before saying anything about resuming: a running copy's heights would look like ours.
    refuseRunningNodes(await readManifest(dir));
    out.info(`resuming the testnet in ${dir}`);
  }
  return runTestnet(dir, out);
}
