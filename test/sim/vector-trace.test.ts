/**
 * Vector-clock traces (src/sim/vector-trace.ts, `verity sim --trace`): the recorder on a scripted
 * exchange, then a known simulated run read back from its ShiViz text — the timestamps must
 * respect happened-before (each host's own entry counts its events, a receive dominates its send,
 * nobody knows of an event not yet logged), with negative controls showing the checker catches
 * tampered logs; and the trace is deterministic and leaves the run's trace hash alone.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { runSimulation, type SimOptions, type SimResult } from '../../src/sim/simulation.ts';
import {
  checkHappenedBefore,
  type ParsedEvent,
  parseShiViz,
  SHIVIZ_REGEX,
  VectorTrace,
} from '../../src/sim/vector-trace.ts';

const at = (t: number) => ({ t, wall: t });

describe('VectorTrace (sans-I/O)', () => {
  it('stamps sends, receives and local events, and renders ShiViz text', () => {
    const vt = new VectorTrace(3, { hostNames: ['v0', "v0'", 'v1'] });
    vt.send(at(0), 0, 0, 2, 'consensus', 'prevote');
    vt.send(at(0), 1, 0, 1, 'consensus', 'prevote', 'lost');
    vt.local(at(1), 1, 'commit height=1');
    vt.receive(at(5), 0, 0, 2, 'consensus', 'prevote');
    vt.receive(at(6), 1, 0, 1, 'consensus', 'prevote'); // lost: never arrives, not recorded
    vt.receive(at(9), 0, 0, 2, 'consensus', 'prevote', true);
    const text = vt.render('a test');
    expect(text).toBe(
      [
        SHIVIZ_REGEX,
        '',
        `t=0 wall=0 trace of a test; hosts v0=n0 v0-twin=n1 v1=n2; 5 events`,
        'sim {"sim":1}',
        't=0 wall=0 send consensus #0 to v1 prevote',
        'v0 {"v0":1}',
        't=0 wall=0 send consensus #1 to v0-twin [lost] prevote',
        'v0 {"v0":2}',
        't=1 wall=1 commit height=1',
        'v0-twin {"v0-twin":1}',
        't=5 wall=5 recv consensus #0 from v0 prevote',
        'v1 {"v1":1,"v0":1}',
        't=9 wall=9 recv consensus #0 from v0 [duplicate] prevote',
        'v1 {"v1":2,"v0":1}',
        '',
      ].join('\n'),
    );
    expect(checkHappenedBefore(parseShiViz(text))).toEqual([]);
  });

  it('stops at the cap, says so in the first event, and stays consistent', () => {
    const vt = new VectorTrace(2, { maxEvents: 3 });
    for (let i = 0; i < 5; i++) {
      vt.send(at(i), i, 0, 1, 'sync', 'status');
      vt.receive(at(i + 1), i, 0, 1, 'sync', 'status');
    }
    const text = vt.render();
    expect(text.split('\n')[2]).toContain('TRUNCATED: the first 3 events only (7 more not recorded, cap 3)');
    const events = parseShiViz(text);
    expect(events).toHaveLength(4);
    expect(checkHappenedBefore(events)).toEqual([]);
  });
});

describe('a known tendermint run, read back', () => {
  const options: SimOptions = {
    engine: tendermint as EngineModule<unknown>,
    nodes: 4,
    byzantine: 1,
    byzantineMode: 'twins',
    faults: new Set(['loss', 'dup', 'crash']),
    seed: 'vector-trace-1',
    durationMs: 3000,
    txs: 10,
    livenessMs: 6000,
    // A crash and a restart at known times (the seed's own plan has none).
    scenario: (ctl) => {
      ctl.at(1200, () => ctl.crash(2));
      ctl.at(2200, () => ctl.restart(2));
    },
  };
  let plain: SimResult;
  let traced: SimResult;
  let text: string;
  let events: ParsedEvent[];
  beforeAll(async () => {
    plain = await runSimulation(options);
    traced = await runSimulation({ ...options, vectorTrace: {} });
    text = traced.vectorTrace as string;
    events = parseShiViz(text);
  });

  it('does not change the run', () => {
    expect(plain.vectorTrace).toBeUndefined();
    expect(traced.traceHash).toBe(plain.traceHash);
    expect(traced.safe).toBe(true);
  });

  it('parses with its own header regex (ShiViz file layout)', () => {
    const lines = text.split('\n');
    expect(lines[0]).toBe(SHIVIZ_REGEX);
    expect(lines[1]).toBe(''); // no multiple-execution delimiter
    // The named-group regex ShiViz uses is valid JS, and matches every event, nothing else.
    const re = new RegExp(lines[0] as string, 'g');
    const matches = [...lines.slice(2).join('\n').matchAll(re)];
    expect(matches.length).toBe(events.length);
    expect((lines.length - 3) / 2).toBe(events.length);
    expect(events[0]?.host).toBe('sim');
    expect(events[0]?.event).toContain(`; ${events.length - 1} events`);
    // Five instances: four validators, one twin.
    expect(new Set(events.map((e) => e.host))).toEqual(new Set(['sim', 'n0', 'n1', 'n2', 'n3', 'n4']));
  });

  it('exercises what it claims: receives, lost sends, duplicates, crashes, commits', () => {
    const kinds = (re: RegExp) => events.filter((e) => re.test(e.event)).length;
    expect(kinds(/^recv consensus #/)).toBeGreaterThan(100);
    expect(kinds(/^send \S+ #\d+ to \S+ \[lost\]/)).toBeGreaterThan(0);
    expect(kinds(/^recv .*\[duplicate\]/)).toBeGreaterThan(0);
    expect(events.filter((e) => /^crash/.test(e.event)).map((e) => [e.host, e.time])).toEqual([['n2', 1200]]);
    expect(events.filter((e) => /^restart/.test(e.event)).map((e) => [e.host, e.time])).toEqual([
      ['n2', 2200],
    ]);
    expect(kinds(/^commit height=\d+ hash=\w+ hlc=\d+\.\d+/)).toBeGreaterThan(4);
    // A lost send has no receive.
    const received = new Set(events.flatMap((e) => /^recv \S+ (#\d+)/.exec(e.event)?.[1] ?? []));
    const lost = events.flatMap((e) => /^send \S+ (#\d+) to \S+ \[lost\]/.exec(e.event)?.[1] ?? []);
    expect(lost.filter((m) => received.has(m))).toEqual([]);
  });

  it('respects happened-before', () => {
    expect(checkHappenedBefore(events)).toEqual([]);
    // Independently of the checker: every receive's clock ≥ its send's, the receiver's entry >,
    // and virtual time never runs backwards along a message.
    const sends = new Map<string, ParsedEvent>();
    let pairs = 0;
    for (const e of events) {
      const m = /^(send|recv) \S+ (#\d+)/.exec(e.event);
      if (m?.[1] === 'send') sends.set(m[2] as string, e);
      if (m?.[1] !== 'recv') continue;
      const s = sends.get(m[2] as string) as ParsedEvent;
      expect(s).toBeDefined();
      for (const [h, v] of Object.entries(s.clock)) expect(e.clock[h] ?? 0).toBeGreaterThanOrEqual(v);
      expect(e.clock[e.host] ?? 0).toBeGreaterThan(s.clock[e.host] ?? 0);
      expect(e.time).toBeGreaterThanOrEqual(s.time);
      pairs++;
    }
    expect(pairs).toBeGreaterThan(100);
  });

  it('is deterministic: same seed, identical trace', async () => {
    const again = await runSimulation({ ...options, vectorTrace: {} });
    expect(again.vectorTrace).toBe(text);
  });

  describe('negative controls: the checker catches tampered logs', () => {
    const tamper = (i: number, clock: Record<string, number>) =>
      events.map((e, j) => (j === i ? { ...e, clock } : e));
    const firstRecv = () => {
      const i = events.findIndex((e, k) => k > 50 && /^recv consensus #/.test(e.event));
      const e = events[i] as ParsedEvent;
      const id = /#\d+/.exec(e.event)?.[0] as string;
      const from = /from (\S+)/.exec(e.event)?.[1] as string;
      const send = events.find(
        (s) => s.event.startsWith('send') && s.event.includes(`${id} `),
      ) as ParsedEvent;
      return { i, e, from, send };
    };

    it('a receive that does not dominate its send', () => {
      const { i, e, from, send } = firstRecv();
      const bad = tamper(i, { ...e.clock, [from]: (send.clock[from] as number) - 1 });
      expect(checkHappenedBefore(bad).some((p) => p.includes('does not dominate its send'))).toBe(true);
    });

    it("a host's own entry that skips", () => {
      const { i, e } = firstRecv();
      const bad = tamper(i, { ...e.clock, [e.host]: (e.clock[e.host] as number) + 1 });
      expect(checkHappenedBefore(bad).some((p) => p.includes('own entry'))).toBe(true);
    });

    it('a clock that knows of an event not yet logged', () => {
      const { i, e } = firstRecv();
      const other = ['n0', 'n1', 'n2', 'n3', 'n4'].find((h) => h !== e.host) as string;
      const bad = tamper(i, { ...e.clock, [other]: 1_000_000 });
      expect(checkHappenedBefore(bad).some((p) => p.includes('not logged yet'))).toBe(true);
    });

    it('a receive whose send is missing', () => {
      const { send } = firstRecv();
      const bad = events.filter((e) => e !== send);
      expect(checkHappenedBefore(bad).some((p) => p.includes('receive without a logged send'))).toBe(true);
    });

    it('text that the regex does not parse', () => {
      expect(() => parseShiViz(text.replace('\nn1 {', '\nn1 garbage {'))).toThrow(/unparsed text/);
    });
  });
});
