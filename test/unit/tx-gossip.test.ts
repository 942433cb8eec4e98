// A gossiped frame gets the same verdicts whether its signatures are checked one by one on this
// thread (the simulator's path) or as one batch on the verification pool (a node's default):
// the same transactions admitted and passed on, the same peer penalized as often. Passed on to
// whom: what came from a validator goes only to peers that are not validators (that validator
// reached the others itself); what came from anyone else goes to every peer.
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { type BatchVerifier, inThreadVerifier, verifyEach } from '../../crypto/signature-batch.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import { signTransaction } from '../../ledger/tx.ts';
import { Mempool } from '../../src/runtime/mempool.ts';
import { TxGossip } from '../../src/runtime/tx-gossip.ts';
import { VerifyPool } from '../../src/runtime/verify-pool.ts';

const pool = new VerifyPool({ threads: 1 });
afterAll(() => pool.close());

/**
 * One frame from peer "p1": good ones, a forgery, a duplicate, garbage, another chain's. The peers
 * are p1, v2 and f3; `validators` says which of them are validators.
 */
async function deliver(
  seed: number,
  verifier: BatchVerifier | undefined,
  validators: readonly string[] = [],
  peers: readonly string[] = ['p1', 'v2', 'f3'],
  selfIsValidator = true,
) {
  const keys = Array.from({ length: 3 }, (_, i) => ed25519.keygen(new Uint8Array(32).fill(seed + i)));
  const to = addressFromPublicKey(new Uint8Array(32).fill(9));
  const sign = (k: (typeof keys)[number], chainId = 'gossip') =>
    signTransaction(
      { chainId, sender: k.publicKey, nonce: 0, op: { type: 'transfer', to, amount: 1n } },
      k.secretKey,
    );
  const [a, b, c] = keys.map((k) => sign(k)) as [
    ReturnType<typeof sign>,
    ReturnType<typeof sign>,
    ReturnType<typeof sign>,
  ];
  const forged = b.bytes.slice();
  forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
  const alien = sign(keys[2] as (typeof keys)[number], 'elsewhere');
  const frame = rlpEncode([a.bytes, forged, c.bytes, a.bytes, new Uint8Array([0xc1, 0x05]), alien.bytes]);

  const mempool = new Mempool(async () => ({ nonce: 0, balance: 1_000n, stake: 0n }));
  const penalties: string[] = [];
  const sent: Array<{ to: string; frame: Uint8Array }> = [];
  const armed: string[] = [];
  const counters = { rejected: 0, txGossipNoRoom: 0 };
  const gossip = new TxGossip({
    chainId: 'gossip',
    mempool,
    transport: {
      penalize: (peer: string, reason: string) => penalties.push(`${peer}: ${reason}`),
      peers: () => [...peers],
    } as never,
    timers: { set: (id: string) => void armed.push(id), cancel: () => undefined, cancelAll: () => undefined },
    counters,
    ...(verifier === undefined ? {} : { verifier }),
    send: (frame) => sent.push({ to: 'every peer', frame }),
    sendTo: (to, frame) => sent.push({ to, frame }),
    isValidator: (peer) => validators.includes(peer),
    selfIsValidator: () => selfIsValidator,
    enqueue: (fn) => fn(),
    enqueueIntake: (fn) => {
      queue = queue.then(fn);
    },
    fault: (e) => {
      throw e;
    },
  });
  let queue: Promise<void> = Promise.resolve();
  gossip.receive('p1', frame);
  await queue;
  await gossip.settled();
  await queue;
  // The first transaction queued, whichever batch it went to, armed the flush timer.
  const timerArmed = [...armed];
  gossip.flush();
  const txsOf = (f: Uint8Array) => (rlpDecodeStrict(f, 1 << 20, 'frame') as Uint8Array[]).map(toHex);
  const passedOn = sent.flatMap((s) => txsOf(s.frame));
  const expectOn = [a, c].map((t) => toHex(t.bytes));
  const sentTo = sent.map((s) => s.to);
  // A transaction a client gave this node goes to every peer, whoever sent the frame.
  sent.length = 0;
  gossip.add(sign(keys[1] as (typeof keys)[number]).bytes);
  gossip.flush();
  const clientTxTo = sent.map((s) => s.to);
  return {
    passedOn,
    expectOn,
    to: sentTo,
    clientTxTo,
    timerArmed,
    pending: mempool.size,
    penalties,
    rejected: counters.rejected,
  };
}

describe('transaction gossip verification', () => {
  const paths: Array<[string, BatchVerifier | undefined]> = [
    ['one by one on this thread', undefined],
    ['as a batch on this thread', inThreadVerifier],
    ['as a batch on a worker thread', pool],
  ];
  paths.forEach(([name, verifier], i) => {
    it(`${name}: the two good ones admitted and passed on, the peer penalized for the three bad`, async () => {
      const got = await deliver(10 * (i + 1), verifier);
      expect(got.passedOn).toEqual(got.expectOn);
      expect(got.pending).toBe(2);
      expect(got.rejected).toBe(3);
      expect(got.penalties).toEqual(Array(3).fill('p1: invalid transaction gossiped'));
    });
  });

  it('from a peer that is not a validator: passed on to every peer', async () => {
    const got = await deliver(40, undefined, ['v2']);
    expect(got.to).toEqual(['every peer']);
    expect(got.passedOn).toEqual(got.expectOn);
  });

  it('from a validator: passed on to the peers that are not validators only, in one frame each', async () => {
    const got = await deliver(50, undefined, ['p1', 'v2']);
    expect(got.to).toEqual(['f3']);
    expect(got.passedOn).toEqual(got.expectOn);
    expect(got.clientTxTo).toEqual(['every peer']);
  });

  it('from a validator, to a node that is no validator (a sentry): passed on to every peer', async () => {
    const got = await deliver(70, undefined, ['p1', 'v2'], ['p1', 'v2', 'f3'], false);
    expect(got.to).toEqual(['every peer']);
    expect(got.passedOn).toEqual(got.expectOn);
  });

  it('a transaction from a validator queued alone still arms the flush timer', async () => {
    const got = await deliver(80, undefined, ['p1', 'v2']);
    expect(got.timerArmed).toEqual(['tx-gossip']);
    expect(got.to).toEqual(['f3']);
  });

  it('from a validator, among validators only: admitted, and sent nowhere', async () => {
    const got = await deliver(60, undefined, ['p1', 'v2'], ['p1', 'v2']);
    expect(got.to).toEqual([]);
    expect(got.pending).toBe(2);
    expect(got.clientTxTo).toEqual(['every peer']);
  });

  it('the worker did the checking on that path', () => {
    expect(pool.stats.checks).toBeGreaterThanOrEqual(3);
  });
});

/** A verifier that answers when told to: `release(k)` answers its k-th batch (this thread's verdicts). */
function heldVerifier() {
  const batches: Array<{ size: number; answer: () => void }> = [];
  const verifier: BatchVerifier = {
    verifyMany(checks) {
      return new Promise((resolve) =>
        batches.push({ size: checks.length, answer: () => resolve(verifyEach(checks)) }),
      );
    },
  };
  return { verifier, batches, release: (k: number) => (batches[k] as { answer: () => void }).answer() };
}

/** A TxGossip on a FIFO intake queue the test drains, with `signed(k, nonce)` transfers. */
function offQueueSetup(seed: number, verifier: BatchVerifier, start: { balance?: bigint } = {}) {
  // Keys of its own per test: the verified-id cache is the process's.
  const keys = Array.from({ length: 3 }, (_, i) => ed25519.keygen(new Uint8Array(32).fill(seed + i)));
  const to = addressFromPublicKey(new Uint8Array(32).fill(9));
  const signed = (k: number, nonce: number) =>
    signTransaction(
      {
        chainId: 'gossip',
        sender: (keys[k] as (typeof keys)[number]).publicKey,
        nonce,
        op: { type: 'transfer', to, amount: 1n },
      },
      (keys[k] as (typeof keys)[number]).secretKey,
    );
  const funds = { balance: start.balance ?? 1_000n };
  const mempool = new Mempool(async () => ({ nonce: 0, balance: funds.balance, stake: 0n }));
  const intake: Array<() => Promise<void> | void> = [];
  const faults: unknown[] = [];
  const sent: Uint8Array[] = [];
  const gossip = new TxGossip({
    chainId: 'gossip',
    mempool,
    transport: { penalize: () => undefined, peers: () => ['p1', 'f3'] } as never,
    timers: { set: () => undefined, cancel: () => undefined, cancelAll: () => undefined },
    counters: { rejected: 0, txGossipNoRoom: 0 },
    verifier,
    send: (frame) => sent.push(frame),
    sendTo: () => undefined,
    isValidator: () => false,
    selfIsValidator: () => true,
    enqueue: (fn) => fn(),
    enqueueIntake: (fn) => void intake.push(fn),
    fault: (e) => void faults.push(e),
  });
  /** Runs the queued intake events in order, as the runtime's queue would. */
  const drain = async () => {
    while (intake.length > 0) await (intake.shift() as () => Promise<void> | void)();
  };
  const passedOn = () => {
    gossip.flush();
    return sent.flatMap((f) => (rlpDecodeStrict(f, 1 << 20, 'frame') as Uint8Array[]).map(toHex));
  };
  return { gossip, mempool, signed, intake, drain, faults, passedOn, funds };
}

describe('transaction gossip: signatures checked off the event queue', () => {
  it('the queue is free while a frame is verified; the frame counts as intake until its admission is queued', async () => {
    const held = heldVerifier();
    const t = offQueueSetup(110, held.verifier);
    const txs = [t.signed(0, 0), t.signed(1, 0)];
    const frame = rlpEncode(txs.map((x) => x.bytes));
    t.gossip.receive('p1', frame);
    await t.drain(); // the decoding event: done, though nothing is verified yet
    expect(t.intake).toHaveLength(0);
    expect(held.batches.map((b) => b.size)).toEqual([2]);
    expect(t.gossip.verifying.frames).toBe(1);
    expect(t.gossip.verifying.bytes).toBe(txs[0]!.bytes.length + txs[1]!.bytes.length);
    expect(t.mempool.size).toBe(0);
    held.release(0);
    await t.gossip.settled();
    expect(t.gossip.verifying).toEqual({ frames: 0, bytes: 0 });
    expect(t.intake).toHaveLength(1); // the admission, queued as intake
    await t.drain();
    expect(t.mempool.size).toBe(2);
  });

  it('admissions keep the order the frames came in, whichever verification finishes first', async () => {
    const held = heldVerifier();
    const t = offQueueSetup(120, held.verifier);
    const first = t.signed(0, 0);
    const second = t.signed(0, 1);
    t.gossip.receive('p1', rlpEncode([first.bytes]));
    t.gossip.receive('p1', rlpEncode([second.bytes]));
    await t.drain();
    expect(held.batches).toHaveLength(2);
    held.release(1);
    await new Promise((r) => setImmediate(r));
    expect(t.intake).toHaveLength(0); // the second waits for the first
    held.release(0);
    await t.gossip.settled();
    await t.drain();
    expect(t.passedOn()).toEqual([toHex(first.bytes), toHex(second.bytes)]);
    expect(t.mempool.size).toBe(2);
  });

  it('a copy arriving while the first is verified is not verified again', async () => {
    const held = heldVerifier();
    const t = offQueueSetup(130, held.verifier);
    const tx = t.signed(2, 0);
    t.gossip.receive('p1', rlpEncode([tx.bytes]));
    await t.drain();
    t.gossip.receive('f3', rlpEncode([tx.bytes, t.signed(1, 0).bytes]));
    await t.drain();
    expect(held.batches.map((b) => b.size)).toEqual([1, 1]);
    held.release(0);
    held.release(1);
    await t.gossip.settled();
    await t.drain();
    expect(t.mempool.size).toBe(2);
  });

  it('a broken promise behind a frame still being verified is reported too, not left unhandled', async () => {
    const held = heldVerifier();
    let calls = 0;
    const t = offQueueSetup(150, {
      verifyMany: (checks, priority) =>
        calls++ === 0 ? held.verifier.verifyMany(checks, priority) : Promise.reject(new Error('pool broke')),
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      t.gossip.receive('p1', rlpEncode([t.signed(0, 0).bytes]));
      t.gossip.receive('p1', rlpEncode([t.signed(1, 0).bytes]));
      await t.drain();
      await new Promise((r) => setTimeout(r, 20)); // the second rejects while the first is held
      held.release(0);
      await t.gossip.settled();
      await t.drain();
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(t.faults.map((e) => (e as Error).message)).toEqual(['pool broke']);
    expect(t.mempool.size).toBe(1); // the first frame's, admitted in its turn
  });

  it('a transaction is in flight only until its admission: refused then, a later copy is looked at again', async () => {
    const t = offQueueSetup(160, inThreadVerifier, { balance: 0n });
    const tx = t.signed(0, 0);
    t.gossip.receive('p1', rlpEncode([tx.bytes]));
    await t.drain();
    await t.gossip.settled();
    await t.drain();
    expect(t.mempool.size).toBe(0); // no funds: refused, not marked seen
    t.funds.balance = 1_000n;
    t.gossip.receive('f3', rlpEncode([tx.bytes]));
    await t.drain();
    await t.gossip.settled();
    await t.drain();
    expect(t.mempool.size).toBe(1);
  });

  it("a verifier that breaks its promise is this node's fault, reported to halt it", async () => {
    const t = offQueueSetup(140, { verifyMany: () => Promise.reject(new Error('pool broke')) });
    t.gossip.receive('p1', rlpEncode([t.signed(0, 0).bytes]));
    await t.drain();
    await t.gossip.settled();
    expect(t.faults.map((e) => (e as Error).message)).toEqual(['pool broke']);
    expect(t.gossip.verifying).toEqual({ frames: 0, bytes: 0 });
    expect(t.intake).toHaveLength(0);
  });
});
