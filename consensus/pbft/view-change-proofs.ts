/**
 * What PBFT's view change proves, checked: the certificates a VIEW-CHANGE carries (its stable
 * checkpoint's > 2/3 CHECKPOINT signatures, and per sequence number a prepared certificate — the
 * primary's PRE-PREPARE signature and PREPAREs from others, > 2/3 of the power together), a
 * NEW-VIEW's > 2/3 signed VIEW-CHANGEs, and O re-derived from them (`deriveReproposals`). Every
 * embedded signature is checked against the genesis keys — the runtime checked only the envelope —
 * and memoised: the same PREPARE and CHECKPOINT signatures come back in many VIEW-CHANGEs.
 */
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { LruCache } from '../../crypto/lru.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import {
  type CheckpointProof,
  checkpointBytes,
  type NewView,
  type PreparedCert,
  prePrepareBytes,
  prepareBytes,
  type ViewChange,
  viewChangeBytes,
} from './messages.ts';
import type { PbftParams } from './params.ts';

const MAX_MEMO = 4096;

export interface DerivedReproposals {
  /** The latest stable checkpoint among V (min-s of the paper). */
  readonly checkpoint: CheckpointProof;
  /** Contiguous re-proposals min-s+1 … max-s. */
  readonly entries: ReadonlyArray<{
    readonly seq: number;
    readonly digest: Uint8Array;
    readonly parent: Uint8Array;
    readonly view: number;
  }>;
}

/**
 * O from V (the paper's rule, adapted to a chain). min-s = the highest stable checkpoint in V.
 * For n = min-s+1, min-s+2, …: take the prepared certificate with the highest view at n (ties —
 * impossible unless > f are Byzantine — to the lowest digest). Stop at the first n with no
 * certificate, or whose certificate's parent is not the entry chosen at n-1 (the checkpoint's
 * digest at min-s+1; unchecked above genesis, whose digest the certificates cannot name). The
 * paper fills gaps with null requests; a block needs a parent, and a filler block could not be
 * re-derived from V, so the chain is cut there instead — safe because nothing past a gap or a
 * broken link can have been decided (see engine.ts's header comment), and the new primary proposes
 * fresh blocks from max-s+1 on.
 */
export function deriveReproposals(vcs: readonly ViewChange[]): DerivedReproposals {
  let checkpoint: CheckpointProof = { seq: 0, digest: new Uint8Array(0), votes: [] };
  for (const vc of vcs) {
    const c = vc.checkpoint;
    if (c.seq > checkpoint.seq || (c.seq === checkpoint.seq && toHex(c.digest) < toHex(checkpoint.digest)))
      checkpoint = c;
  }
  const best = new Map<number, PreparedCert>();
  for (const vc of vcs) {
    for (const c of vc.prepared) {
      if (c.seq <= checkpoint.seq) continue;
      const b = best.get(c.seq);
      if (b === undefined || c.view > b.view || (c.view === b.view && toHex(c.digest) < toHex(b.digest)))
        best.set(c.seq, c);
    }
  }
  const entries: Array<{ seq: number; digest: Uint8Array; parent: Uint8Array; view: number }> = [];
  let prev: Uint8Array | undefined = checkpoint.seq === 0 ? undefined : checkpoint.digest;
  for (let n = checkpoint.seq + 1; ; n++) {
    const c = best.get(n);
    if (c === undefined || (prev !== undefined && !equalBytes(c.parent, prev))) break;
    entries.push({ seq: n, digest: c.digest, parent: c.parent, view: c.view });
    prev = c.digest;
  }
  return { checkpoint, entries };
}

export class ViewChangeProofs {
  readonly #chainId: string;
  readonly #validators: ValidatorSet;
  readonly #p: Pick<PbftParams, 'watermarkWindow' | 'checkpointInterval'>;
  readonly #primary: (view: number) => number;
  /** The block this instance starts from (EngineContext.base): a checkpoint without votes. */
  readonly #base: { readonly height: number; readonly hash: Uint8Array } | undefined;
  /** Verified VIEW-CHANGEs (by sender, signature and content) → validity. */
  readonly #vcMemo = new LruCache<boolean>(MAX_MEMO);
  readonly #sigMemo = new LruCache<boolean>(4 * MAX_MEMO);

  constructor(
    chainId: string,
    validators: ValidatorSet,
    params: Pick<PbftParams, 'watermarkWindow' | 'checkpointInterval'>,
    primary: (view: number) => number,
    base?: { readonly height: number; readonly hash: Uint8Array },
  ) {
    this.#chainId = chainId;
    this.#validators = validators;
    this.#p = params;
    this.#primary = primary;
    this.#base = base;
  }

  /**
   * A VIEW-CHANGE's content: its checkpoint proof and every prepared certificate, each embedded
   * signature checked against the genesis keys (the runtime only checked the envelope). With
   * `checkSignature`, also the VIEW-CHANGE's own signature (when it comes inside a NEW-VIEW).
   */
  viewChange(from: number, vc: ViewChange, signature: Uint8Array, checkSignature: boolean): boolean {
    const bytes = viewChangeBytes(this.#chainId, vc);
    const key = `${from}:${toHex(signature)}:${toHex(sha256(bytes))}`;
    return this.#vcMemo.getOrMake(key, () =>
      this.#checkViewChange(from, vc, signature, bytes, checkSignature),
    );
  }

  #checkViewChange(
    from: number,
    vc: ViewChange,
    signature: Uint8Array,
    bytes: Uint8Array,
    checkSignature: boolean,
  ): boolean {
    const validator = this.#validators.at(from);
    let ok = validator !== undefined; // (callers bound vc.view: primary() is O(view))
    if (ok && checkSignature) ok = this.#verify(from, signature, bytes);
    if (ok) ok = this.#validCheckpoint(vc.checkpoint);
    for (const c of vc.prepared) {
      if (!ok) break;
      ok =
        c.seq > vc.checkpoint.seq &&
        c.seq <= vc.checkpoint.seq + this.#p.watermarkWindow &&
        c.view < vc.view &&
        this.#validCert(c);
    }
    return ok;
  }

  /**
   * Signature check of an embedded vote, memoised: the same PREPARE and CHECKPOINT signatures
   * come back in many VIEW-CHANGEs (every replica's certificate for a sequence number).
   */
  #verify(validator: number, signature: Uint8Array, bytes: Uint8Array): boolean {
    const pk = this.#validators.at(validator)?.publicKey;
    if (pk === undefined) return false;
    const key = `${validator}:${toHex(signature)}:${toHex(sha256(bytes))}`;
    return this.#sigMemo.getOrMake(key, () => ed25519.verify(signature, bytes, pk));
  }

  #validCheckpoint(cp: CheckpointProof): boolean {
    if (cp.seq === 0) return cp.digest.length === 0 && cp.votes.length === 0;
    // The epoch's base block: certified by the ledger under the previous set, like genesis.
    const base = this.#base;
    if (base !== undefined && cp.seq === base.height && cp.votes.length === 0)
      return cp.digest.length === 32 && equalBytes(cp.digest, base.hash);
    if (cp.seq % this.#p.checkpointInterval !== 0 || cp.digest.length !== 32) return false;
    const bytes = checkpointBytes(this.#chainId, cp.seq, cp.digest);
    return this.#validVotes(cp.votes, bytes, undefined, 0);
  }

  #validCert(c: PreparedCert): boolean {
    const primary = this.#primary(c.view);
    const chainId = this.#chainId;
    if (!this.#verify(primary, c.prePrepare, prePrepareBytes(chainId, c.view, c.seq, c.digest, c.parent)))
      return false;
    const bytes = prepareBytes(chainId, c.view, c.seq, c.digest, c.parent);
    return this.#validVotes(c.prepares, bytes, primary, this.#validators.at(primary)?.power ?? 0);
  }

  /** Distinct, strictly increasing known validators (not `exclude`), good signatures, > 2/3 power with `extra`. */
  #validVotes(
    votes: readonly { validator: number; signature: Uint8Array }[],
    bytes: Uint8Array,
    exclude: number | undefined,
    extra: number,
  ): boolean {
    let power = extra;
    let last = -1;
    for (const v of votes) {
      if (v.validator <= last || v.validator === exclude) return false;
      last = v.validator;
      const val = this.#validators.at(v.validator);
      if (val === undefined || !this.#verify(v.validator, v.signature, bytes)) return false;
      power += val.power;
    }
    return power >= this.#validators.quorumPower;
  }

  /** Checks a NEW-VIEW completely; returns the re-derived O, or undefined if anything is off. */
  newView(nv: NewView): DerivedReproposals | undefined {
    let power = 0;
    for (const s of nv.viewChanges) {
      if (s.vc.view !== nv.view) return undefined;
      const v = this.#validators.at(s.from);
      if (v === undefined || !this.viewChange(s.from, s.vc, s.signature, true)) return undefined;
      power += v.power;
    }
    if (power < this.#validators.quorumPower) return undefined;
    const derived = deriveReproposals(nv.viewChanges.map((s) => s.vc));
    if (derived.entries.length !== nv.reproposals.length) return undefined;
    for (const [i, e] of derived.entries.entries()) {
      const r = nv.reproposals[i];
      if (r === undefined || r.seq !== e.seq || !equalBytes(r.digest, e.digest)) return undefined;
    }
    return derived;
  }
}
