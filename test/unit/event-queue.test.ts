/**
 * The runtime's event queue (src/runtime/event-queue.ts): one event at a time, urgent work before
 * bulk intake, intake bytes counted until an intake starts, a throwing event reported as the
 * node's fault, and nothing run after stop.
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
});
