/**
 * The first half of applying an engine step's outputs: what must be durable before anything
 * leaves the node. The engine's records (`persist`, `forget`) become WAL operations, and every
 * message the step sends is sealed — signed, in an envelope — under the double-sign guard
 * (signing-guard.ts):
 *  - a message without a slot (requests, syncs) is signed as it is;
 *  - a slot this validator has not signed is signed, and the guard records it; the very message
 *    it signed there before is signed again (ed25519 is deterministic: the same envelope);
 *  - a slot it signed before with other bytes gets the envelope it signed then, re-sent: never a
 *    second signature for one slot;
 *  - a slot the guard refuses (a lost WAL's fence; a slashable FFG vote) is not signed at all.
 * The runtime then writes the operations and the guard's new records in one synced batch
 * (SigningGuard.flush) before it sends anything (runtime.ts #apply).
 */
import { sealSigningBytes } from '../../consensus/envelope.ts';
import type { EngineOutput, MessageCodec, SignSlot } from '../../consensus/types.ts';
import { sha256 } from '../../crypto/hash.ts';
import type { KvOp } from '../../ledger/kv.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import { engineRecordKey } from './epoch.ts';
import type { Logger } from './ports.ts';
import type { SigningGuard } from './signing-guard.ts';

export interface SealContext<M> {
  readonly codec: MessageCodec<M>;
  readonly chainId: string;
  /** The engine instance's epoch (the signatures' domain is signingDomain(chainId, epoch)). */
  readonly epoch: number;
  /** This validator's index and ed25519 secret key; undefined: not a validator, nothing is sealed. */
  readonly signer: { readonly index: number; readonly secretKey: Uint8Array } | undefined;
  readonly guard: SigningGuard;
  readonly log: Logger;
  /** A message not signed as the engine asked (refused, or replaced by the earlier one). */
  readonly onRefused?: (slot: SignSlot, description: string) => void;
}

export interface SealedOutputs<M> {
  /** The engine's records to write (the guard adds its own when it flushes). */
  readonly walOps: KvOp[];
  /** Messages signed now: the envelope and the signature in it. */
  readonly sealed: Map<EngineOutput<M>, { readonly bytes: Uint8Array; readonly signature: Uint8Array }>;
  /** Messages whose slot holds an envelope signed before: that envelope, to send instead. */
  readonly replaced: Map<EngineOutput<M>, Uint8Array>;
}

export function sealOutputs<M>(outputs: readonly EngineOutput<M>[], c: SealContext<M>): SealedOutputs<M> {
  const walOps: KvOp[] = [];
  const sealed: SealedOutputs<M>['sealed'] = new Map();
  const replaced = new Map<EngineOutput<M>, Uint8Array>();
  const signer = c.signer;
  const domain = signingDomain(c.chainId, c.epoch);
  for (const out of outputs) {
    if (out.kind === 'persist')
      walOps.push({ type: 'put', key: engineRecordKey(c.epoch, out.key), value: out.record });
    else if (out.kind === 'forget') walOps.push({ type: 'del', key: engineRecordKey(c.epoch, out.key) });
    if ((out.kind !== 'broadcast' && out.kind !== 'send') || signer === undefined) continue;
    // The signing bytes are encoded once: hashed for the guard, and signed only if it allows.
    const signingBytes = c.codec.signingBytes(out.msg, domain);
    const seal = () =>
      sealSigningBytes(c.codec, out.msg, signingBytes, signer.index, signer.secretKey, c.epoch);
    const slot = c.codec.slot(out.msg);
    if (slot === undefined) {
      sealed.set(out, seal());
      continue;
    }
    const hash = sha256(signingBytes);
    const link = c.codec.ffgLink?.(out.msg);
    const verdict = c.guard.verdict(slot, hash, c.epoch, link);
    if (verdict.kind === 'refuse') {
      // The WAL lost what was signed here (sign nothing in this slot, ever), or an FFG vote
      // would be slashable beside one signed before.
      c.log.debug(
        verdict.reason === 'fence'
          ? 'sign fence: not signing a slot this validator may have signed before'
          : 'slashing protection: not signing an FFG vote that would surround, be surrounded by or repeat the target of one signed before',
        { slot, refused: c.codec.describe(out.msg) },
      );
      c.onRefused?.(slot, c.codec.describe(out.msg));
      continue;
    }
    if (verdict.kind === 'resend') {
      // Already signed something else for this slot (before a crash, typically): never sign a
      // second message — re-send the one signed, which keeps this validator participating.
      c.log.warn('double-sign guard: re-sending the message already signed for this slot', {
        slot,
        refused: c.codec.describe(out.msg),
      });
      c.onRefused?.(slot, c.codec.describe(out.msg));
      replaced.set(out, verdict.envelope);
      continue;
    }
    const signed = seal();
    sealed.set(out, signed);
    if (verdict.kind === 'sign') c.guard.record(slot, hash, signed.bytes, c.epoch, link);
  }
  return { walOps, sealed, replaced };
}
