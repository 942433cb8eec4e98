/**
 * The runtime's event queue (src/runtime/event-queue.ts): one event at a time, urgent work before
 * bulk intake, with a clock bulk work's bounded turns, intake bytes counted until an intake
 * starts, a throwing event reported as the node's fault, and nothing run after stop.
 */
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../src/runtime/event-queue.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('EventQueue', () => {
  it('runs urgent events before bulk ones queued earlier, each in order', async () => {
    const q = new EventQueue((e) => {
      throw e;
    });
    const ran: string[] = [];
    // The first event is taken at once; what is queued while it runs is ordered by priority.
    q.enqueue(async () => {
      ran.push('u0');
      await tick();
    });
    q.enqueueIntake(() => void ran.push('b1'), 10);
    q.enqueue(() => void ran.push('e2'), 'bulk');
    q.enqueue(() => void ran.push('u3'));
    q.enqueue(() => void ran.push('u4'));
    await q.idle();
    expect(ran).toEqual(['u0', 'u3', 'u4', 'b1', 'e2']);
  });

  it('never runs two events at once, even when an event queues more work synchronously', async () => {
    const q = new EventQueue((e) => {
      throw e;
    });
    let active = 0;
    let most = 0;
    const event = (more: number) => async () => {
      active++;
      most = Math.max(most, active);
      if (more > 0) q.enqueue(event(more - 1));
      await tick();
      active--;
    };
    q.enqueue(event(5));
    q.enqueue(event(0));
    await q.idle();
    expect(most).toBe(1);
  });

  it('counts queued intake and its bytes until each intake starts', async () => {
    const q = new EventQueue((e) => {
      throw e;
    });
    let release = () => {};
    q.enqueue(() => new Promise<void>((r) => (release = r)));
    const seen: Array<{ events: number; bytes: number }> = [];
    q.enqueueIntake(() => void seen.push(q.intake), 100);
    q.enqueueIntake(() => void seen.push(q.intake), 250);
    expect(q.intake).toEqual({ events: 2, bytes: 350 });
    release();
    await q.idle();
    expect(seen).toEqual([
      { events: 1, bytes: 250 },
      { events: 0, bytes: 0 },
    ]);
  });

  it("reports a throwing event as the node's fault and goes on until stopped", async () => {
    const faults: unknown[] = [];
    const q = new EventQueue((e) => faults.push(e));
    const ran: string[] = [];
    q.enqueue(() => {
      throw new Error('disk');
    });
    q.enqueue(() => void ran.push('after'));
    await q.idle();
    expect(faults.map((e) => (e as Error).message)).toEqual(['disk']);
    expect(ran).toEqual(['after']);
  });

  it('drops queued events on stop and refuses new ones', async () => {
    const q = new EventQueue(() => {});
    const ran: string[] = [];
    q.enqueue(async () => {
      ran.push('first');
      q.stop();
    });
    q.enqueue(() => void ran.push('queued'));
    q.enqueueIntake(() => void ran.push('intake'), 5);
    await q.idle();
    q.enqueue(() => void ran.push('late'));
    q.enqueueIntake(() => void ran.push('late intake'), 5);
    await q.idle();
    expect(ran).toEqual(['first']);
    expect(q.stopped).toBe(true);
    expect(q.intake).toEqual({ events: 0, bytes: 0 });
  });

  /**
   * A stream of urgent events of 20 ms each (one queues the next, as a catching-up validator's
   * blocks do) and six bulk events of 4 ms queued at t = 20, on a clock the events advance.
   */
  async function share(clock: boolean): Promise<string[]> {
    let t = 0;
    const q = new EventQueue(
      (e) => {
        throw e;
      },
      clock ? { now: () => t, bulkShare: { afterMs: 50, turnMs: 10 } } : {},
    );
    const ran: string[] = [];
    const urgent = (i: number) => () => {
      t += 20;
      ran.push(`u${i}`);
      if (i < 10) q.enqueue(urgent(i + 1));
    };
    q.enqueue(urgent(0));
    for (let j = 0; j < 6; j++)
      q.enqueueIntake(() => {
        t += 4;
        ran.push(`b${j}`);
      }, 1);
    await q.idle();
    return ran;
  }

  it('gives waiting bulk work a turn of 10 ms after 50 ms of continuous urgent work', async () => {
    // Bulk is due at 20 + 50 = 70: u3 ends at 80, then bulk until 90 (b2, started at 88, ends at
    // 92), urgent again until 92 + 50 = 142 is passed (u6 ends at 152), then the rest of the bulk.
    expect(await share(true)).toEqual('u0 u1 u2 u3 b0 b1 b2 u4 u5 u6 b3 b4 b5 u7 u8 u9 u10'.split(' '));
  });

  it('keeps strict priority without a clock', async () => {
    expect(await share(false)).toEqual('u0 u1 u2 u3 u4 u5 u6 u7 u8 u9 u10 b0 b1 b2 b3 b4 b5'.split(' '));
  });

  it('runs bulk work at once when nothing urgent waits, and urgent work first after it', async () => {
    let t = 0;
    const q = new EventQueue(
      (e) => {
        throw e;
      },
      { now: () => t, bulkShare: { afterMs: 5, turnMs: 1 } },
    );
    const ran: string[] = [];
    q.enqueueIntake(async () => {
      t += 100; // a long intake: the urgent event queued meanwhile still goes next
      ran.push('b0');
      q.enqueue(() => void ran.push('u0'));
      await tick();
    }, 1);
    // Queued before b0 ran: a bulk event's own run time is not urgent work it waited through.
    q.enqueueIntake(() => void ran.push('b1'), 1);
    await q.idle();
    expect(ran).toEqual(['b0', 'u0', 'b1']);
  });

  it('refuses a bulk share whose turn takes no time', () => {
    const fault = (e: unknown) => {
      throw e;
    };
    expect(() => new EventQueue(fault, { now: () => 0, bulkShare: { afterMs: 50, turnMs: 0 } })).toThrow(
      RangeError,
    );
    expect(
      () => new EventQueue(fault, { now: () => 0, bulkShare: { afterMs: Number.NaN, turnMs: 5 } }),
    ).toThrow(RangeError);
  });
});
