// `verity --version` and `verity completion bash|zsh`: the real binary, and the bash script run by a
// real bash (zsh only if it is installed: this machine has none, and nothing is installed for it).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { COMMANDS } from '../../cli/main.ts';
import { parseJsonOutput, runVerity } from '../helpers/cli.ts';

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const hasShell = (name: string) => spawnSync(name, ['-c', 'exit 0']).status === 0;

/** Every word of every command name ("query", "account", "testnet", "status", …). */
const COMMAND_WORDS = [...new Set(COMMANDS.flatMap((c) => c.name.split(' ')))];

describe('verity --version', () => {
  it('prints the package version and the Node.js version, exit 0', async () => {
    const r = await runVerity(['--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`verity ${PACKAGE_VERSION} (Node.js ${process.versions.node})\n`);
    expect(r.stderr).toBe('');
  });

  it("bin/verity runs on a PATH without the project's Node — through a symlink too; without npm ci it says so", async () => {
    const bin = fileURLToPath(new URL('../../bin/verity', import.meta.url));
    const dir = await mkdtemp(join(tmpdir(), 'verity-bin-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }));
    await symlink(bin, join(dir, 'verity'));
    const env = { ...process.env, PATH: '/usr/bin:/bin' };
    for (const path of [bin, join(dir, 'verity')]) {
      const r = spawnSync(path, ['--version'], { env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`verity ${PACKAGE_VERSION} (Node.js ${process.versions.node})\n`);
    }
    // A checkout where npm ci has not run: a copy of bin/ with no node_modules beside it.
    await mkdir(join(dir, 'bin'));
    await copyFile(bin, join(dir, 'bin', 'verity'));
    await chmod(join(dir, 'bin', 'verity'), 0o755);
    const bare = spawnSync(join(dir, 'bin', 'verity'), ['--version'], { env, encoding: 'utf8' });
    expect(bare.status).toBe(2);
    expect(bare.stderr).toMatch(/node_modules\/node\/bin\/node is missing — run `npm ci` in /);
  });

  it('--json gives {version, node}', async () => {
    const runs = await Promise.all([runVerity(['--version', '--json']), runVerity(['--json', '--version'])]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(parseJsonOutput(r)).toEqual({ version: PACKAGE_VERSION, node: process.versions.node });
    }
  });

  it('is named in the root help; with anything else it is a usage error', async () => {
    const [help, bogus] = await Promise.all([runVerity(['--help']), runVerity(['--version', '--bogus'])]);
    expect(help.stdout).toContain('verity --version [--json]');
    expect(bogus.code).toBe(2);
  });
});

describe('verity completion', () => {
  let dir: string;
  let bash: string;
  let zsh: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verity-completion-'));
    const [b, z] = await Promise.all([runVerity(['completion', 'bash']), runVerity(['completion', 'zsh'])]);
    expect(b.code, b.stderr).toBe(0);
    expect(z.code, z.stderr).toBe(0);
    bash = b.stdout;
    zsh = z.stdout;
    await writeFile(join(dir, 'verity.bash'), bash);
    await writeFile(join(dir, '_verity'), zsh);
  });

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  /** What the bash script offers for the command line `words` (the last one being completed). */
  function complete(...words: string[]): string[] {
    const script = [
      `source ${JSON.stringify(join(dir, 'verity.bash'))}`,
      `COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))`,
      '_verity',
      `printf "%s\\n" "\${COMPREPLY[@]}"`,
    ].join('\n');
    const out = execFileSync('bash', ['-c', script, 'bash', 'verity', ...words], {
      cwd: dir,
      encoding: 'utf8',
    });
    return out.split('\n').filter((l) => l !== '');
  }

  it('the bash script is valid bash and names every command and their flags', () => {
    expect(spawnSync('bash', ['-n', join(dir, 'verity.bash')]).status).toBe(0);
    expect(bash).toContain('complete -F _verity verity');
    for (const c of COMMANDS) expect(bash, c.name).toContain(`'${c.name}') REPLY='--`);
    for (const w of COMMAND_WORDS) expect(bash, w).toMatch(new RegExp(`REPLY='([^']* )?${w}( [^']*)?'`));
    expect(bash).toMatch(/'tx send'\) REPLY='[^']*--wait[^']*'/);
  });

  it('bash completes command words, subcommands, flags and flag values', async () => {
    expect(complete('')).toEqual([...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))]);
    expect(complete('q')).toEqual(['query']);
    expect(complete('query', '')).toEqual([
      'status',
      'block',
      'tx',
      'txs',
      'account',
      'record',
      'validators',
      'validator',
    ]);
    expect(complete('testnet', '')).toEqual(['up', 'status', 'logs']);
    expect(complete('tx', 'b')).toEqual(['broadcast']);
    expect(complete('tx', 'broadcast', '--')).toEqual(['--rpc', '--wait', '--help', '--json']);
    expect(complete('tx', 'send', '--key', 'k.json', '--n')).toEqual(['--nonce']);
    expect(complete('query', 'block', '--h')).toEqual(['--hash', '--help']);
    expect(complete('testnet', 'status', '--')).toEqual(['--dir', '--help', '--json']);
    expect(complete('query', 'account', 'verity1x', '--consistency', '')).toEqual([
      'local',
      'linearizable',
      'lease',
    ]);
    expect(complete('completion', '')).toEqual(['bash', 'zsh']);
    expect(complete('--v')).toEqual(['--version']);
    // Files where a command takes a file, nothing for an unknown command.
    expect(complete('tx', 'broadcast', 'verity.b')).toEqual(['verity.bash']);
    expect(complete('proof', 'verify', 'x', '--genesis', '_v')).toEqual(['_verity']);
    expect(complete('bogus', '')).toEqual([]);
  });

  it('the zsh script names every command and flag (and is valid zsh where zsh is installed)', () => {
    expect(zsh.startsWith('#compdef verity\n')).toBe(true);
    expect(zsh).toContain('compdef _verity verity');
    for (const c of COMMANDS) expect(zsh, c.name).toContain(`'${c.name}') REPLY='--`);
    for (const w of COMMAND_WORDS) expect(zsh, w).toMatch(new RegExp(`REPLY='([^']* )?${w}( [^']*)?'`));
    expect(zsh).toMatch(/'tx broadcast'\) REPLY='[^']*--wait[^']*'/);
    // The lookups are shared with the bash script, which bash has checked above.
    expect(zsh).toContain(bash.slice(bash.indexOf('_verity_subcommands()'), bash.indexOf('_verity_offer()')));
  });

  it.runIf(hasShell('zsh'))('the zsh script is valid zsh (zsh -n)', () => {
    expect(spawnSync('zsh', ['-n', join(dir, '_verity')]).status).toBe(0);
  });

  it('an unknown shell is a usage error naming the shells; --help shows how to install it', async () => {
    const [r, none, help] = await Promise.all([
      runVerity(['completion', 'fish']),
      runVerity(['completion']),
      runVerity(['completion', '--help']),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: unknown shell "fish"; give one of: bash, zsh');
    expect(none.code).toBe(2);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('source <(verity completion bash)');
  });
});

describe('help of the operator commands', () => {
  it('tx broadcast, query block and testnet status each have --help with an example', async () => {
    const commands = [
      ['tx', 'broadcast'],
      ['query', 'block'],
      ['testnet', 'status'],
    ];
    const runs = await Promise.all(commands.map((c) => runVerity([...c, '--help'])));
    for (const [i, r] of runs.entries()) {
      const name = (commands[i] as string[]).join(' ');
      expect(r.code, name).toBe(0);
      expect(r.stdout, name).toContain(`Usage: verity ${name} `);
      const examples = r.stdout.split('\nExamples:\n')[1] ?? '';
      expect(examples, name).toMatch(new RegExp(`^  verity ${name}\\b`, 'm'));
    }
  });
});
