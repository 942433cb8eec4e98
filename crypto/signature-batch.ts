/**
 * Many ed25519 signature checks as one unit, so they can cross a thread boundary as one message:
 * a `BatchVerifier` answers each check exactly as `ed25519.verify` does (the same function runs
 * at the other end, on the same backend), whatever thread it runs on. `inThreadVerifier` is the
 * one without threads; src/node/verify-pool.ts spreads batches over worker threads.
 *
 * The packed form (one transferable buffer, no structured-clone walk per check) is, per check:
 * u32 big-endian message length, the 64-byte signature, the 32-byte public key, the message.
 */
import { ED25519_PUBLIC_KEY_LENGTH, ED25519_SIGNATURE_LENGTH, verify } from './ed25519.ts';
import { invariant } from './errors.ts';

/** One check: `ed25519.verify(signature, message, publicKey)`. */
export interface SignatureCheck {
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
  /**
   * True once this very check (the same signature, message and key) is known to verify, found by
   * another caller while this one waited: a verifier with a backlog may then answer true without
   * checking it again. The caller vouches that true means exactly that (ledger/tx.ts asks whether
   * the transaction's id, a hash of all its signed bytes, has verified). Asked when the chunk
   * leaves the verifier's queue: it must be cheap and must not throw.
   */
  readonly knownValid?: () => boolean;
}

/**
 * Whose checks these are: `urgent` for work the node's consensus waits on (a proposal's
 * transactions), `bulk` for intake (client submissions, gossip). A verifier with a backlog answers
 * urgent checks first; the verdicts are the same either way.
 */
export type VerifyPriority = 'urgent' | 'bulk';

/** Answers many checks; `answers[i]` is exactly `ed25519.verify` of `checks[i]`. */
export interface BatchVerifier {
  verifyMany(checks: readonly SignatureCheck[], priority?: VerifyPriority): Promise<boolean[]>;
}

const HEAD = 4 + ED25519_SIGNATURE_LENGTH + ED25519_PUBLIC_KEY_LENGTH;

/** Whether a check can be packed at all: one with wrong-length parts verifies false without packing. */
export function packable(c: SignatureCheck): boolean {
  return (
    c.signature instanceof Uint8Array &&
    c.publicKey instanceof Uint8Array &&
    c.message instanceof Uint8Array &&
    c.signature.length === ED25519_SIGNATURE_LENGTH &&
    c.publicKey.length === ED25519_PUBLIC_KEY_LENGTH
  );
}

/** Packs checks (each `packable`) into one buffer of its own, so it can be transferred. */
export function packChecks(checks: readonly SignatureCheck[]): Uint8Array {
  let size = 0;
  for (const c of checks) size += HEAD + c.message.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const c of checks) {
    view.setUint32(at, c.message.length);
    out.set(c.signature, at + 4);
    out.set(c.publicKey, at + 4 + ED25519_SIGNATURE_LENGTH);
    out.set(c.message, at + HEAD);
    at += HEAD + c.message.length;
  }
  return out;
}

/**
 * Verifies a packed batch: one byte per check, 1 when it verifies. A buffer that is not a whole
 * number of checks is a bug in the packer, not an input: an InvariantError.
 */
export function verifyPacked(packed: Uint8Array): Uint8Array {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const answers: number[] = [];
  let at = 0;
  while (at < packed.length) {
    invariant(at + HEAD <= packed.length, 'signature batch: truncated check');
    const end = at + HEAD + view.getUint32(at);
    invariant(end <= packed.length, 'signature batch: truncated message');
    const signature = packed.subarray(at + 4, at + 4 + ED25519_SIGNATURE_LENGTH);
    const publicKey = packed.subarray(at + 4 + ED25519_SIGNATURE_LENGTH, at + HEAD);
    answers.push(verify(signature, packed.subarray(at + HEAD, end), publicKey) ? 1 : 0);
    at = end;
  }
  return Uint8Array.from(answers);
}

/** One `ed25519.verify` per check, on this thread. */
export function verifyEach(checks: readonly SignatureCheck[]): boolean[] {
  return checks.map((c) => verify(c.signature, c.message, c.publicKey));
}

/** Checks on this thread: what a node without worker threads uses. */
export const inThreadVerifier: BatchVerifier = {
  verifyMany: (checks) => Promise.resolve(verifyEach(checks)),
};
