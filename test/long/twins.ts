/**
 * npm-less long Twins runs (src/sim/twins.ts), for every Byzantine-fault engine with default
 * parameters: within the bound (one twin of four), every scenario of `--rounds` rounds must be safe
 * and live; beyond it (two twins of four), sampled scenarios are run until the first safety
 * violation (at most `--beyond` of them, default 500), which must exist. Prints scenarios per
 * second and, per engine, how many scenarios the violation took. Each round also chooses its
 * leader (the paper's search; `--leaders rotation` keeps the engines' own rotation): within the
 * bound every one-round scenario by default (64 per engine; `--rounds 2` is 4,096), beyond it
 * samples of two rounds. With `--leaders rotation`: two rounds within (256), three beyond.
 *   node test/long/twins.ts [--engines tendermint,hotstuff,pbft] [--rounds R] [--beyond 500] [--seed 1]
 *     [--leaders search|rotation] [--beyond-rounds R]
 */
import { getEngine } from '../../consensus/registry.ts';
import {
  formatScenario,
  generateScenarios,
  runTwinsCampaign,
  twinsReplayCommand,
} from '../../src/sim/twins.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const engines = arg('engines', 'tendermint,hotstuff,pbft').split(',');
const leadersArg = arg('leaders', 'search');
const beyond = Number(arg('beyond', '500'));
const seed = arg('seed', '1');
const leaders = leadersArg === 'search';
const rounds = Number(arg('rounds', leaders ? '1' : '2'));
const beyondRounds = Number(arg('beyond-rounds', leaders ? '2' : '3'));
let failed = 0;
for (const name of engines) {
  const engine = getEngine(name);
  if (engine === undefined || engine.faultModel.kind !== 'byzantine') {
    console.log(`${name}: skipped (not a Byzantine-fault engine)`);
    continue;
  }
  const within = generateScenarios({ nodes: 4, twins: 1, rounds, leaders }, { limit: 100_000, seed });
  const w = await runTwinsCampaign(within.scenarios, { engine });
  const wOk = w.unsafe === 0 && w.notLive === 0;
  if (!wOk) failed++;
  console.log(
    `${name}, 1 twin of 4, ${within.exhaustive ? 'all' : 'sampled'} ${w.ran} scenarios of ${rounds} rounds${leaders ? ' (a leader each)' : ''}: ${w.unsafe} unsafe, ${w.notLive} not live — ${wOk ? 'ok' : 'FAIL'} (${w.scenariosPerSecond.toFixed(2)} scenarios/s)`,
  );
  for (const x of [w.shortestUnsafe, w.shortestNotLive])
    if (x !== undefined) console.log(`  replay: ${twinsReplayCommand(x.outcome.scenario, { engine })}`);

  const sample = generateScenarios(
    { nodes: 4, twins: 2, rounds: beyondRounds, leaders },
    { limit: beyond, seed },
  );
  const b = await runTwinsCampaign(sample.scenarios, { engine, stopAtFirstUnsafe: true });
  if (b.firstUnsafeAt === undefined) failed++;
  console.log(
    `${name}, 2 twins of 4, sampled ${beyondRounds}-round scenarios${leaders ? ' (a leader each)' : ''} (seed ${seed}): ${b.firstUnsafeAt === undefined ? `NO violation in ${b.ran}` : `first safety violation at scenario ${b.firstUnsafeAt}`} (${b.scenariosPerSecond.toFixed(2)} scenarios/s)`,
  );
  const u = b.shortestUnsafe?.outcome;
  if (u !== undefined) {
    console.log(`  ${formatScenario(u.scenario)} — ${u.violations[0]?.kind}: ${u.violations[0]?.detail}`);
    console.log(`  replay: ${twinsReplayCommand(u.scenario, { engine })}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
