/**
 * npm run bench:sim — simulated blocks per wall-clock second and messages (and bytes) per
 * committed block for every engine at n = 4, 7, 16, no faults, real signatures (every node
 * verifies every message itself: the simulator's cross-node verification memo is off).
 *   --quick   n = 4 and 7 only, shorter runs
 */
import { engineNames, getEngine } from '../../consensus/registry.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import { fmt, header, table } from './harness.ts';

const quick = process.argv.includes('--quick');
const sizes = quick ? [4, 7] : [4, 7, 16];
const durationMs = quick ? 10_000 : 30_000;

header('Verity simulator benchmark (no faults, real signatures)');
const rows: Array<Record<string, string>> = [];
for (const name of engineNames()) {
  const engine = getEngine(name);
  if (engine === undefined) continue;
  try {
    engine.parseParams({});
  } catch {
    console.log(`(skipping ${name}: not available in this build)`);
    continue;
  }
  for (const nodes of sizes) {
    const r = await runSimulation({
      engine,
      nodes,
      byzantine: 0,
      byzantineMode: 'twins',
      faults: new Set(),
      seed: 'bench',
      durationMs,
      txs: 2000,
      uncachedVerify: true,
      livenessMs: 5_000,
    });
    const blocks = Math.max(1, r.committedHeight);
    rows.push({
      engine: name,
      n: String(nodes),
      'sim s': fmt(r.simulatedMs / 1000, 1),
      'wall s': fmt(r.wallMs / 1000, 2),
      blocks: String(r.committedHeight),
      'blocks/wall-s': fmt(r.committedHeight / (r.wallMs / 1000), 1),
      'msgs/block': fmt(r.messages / blocks, 0),
      'msgs/block/n²': fmt(r.messages / blocks / (nodes * nodes), 2),
      'KB/block': fmt(r.bytes / blocks / 1024, 1),
      txs: String(r.committedTxs),
      safe: r.safe && r.live ? 'yes' : 'NO',
    });
  }
}
table(rows);
console.log('msgs/block counts every point-to-point delivery attempt, including block sync and tx gossip.');
