/**
 * The one error shape used across Verity: a machine-readable `code` plus a human message and
 * optional metadata. Callers branch on `code`, never on message text.
 */
export class VerityError<C extends string = string> extends Error {
  readonly code: C;
  readonly meta: Readonly<Record<string, unknown>>;

  constructor(code: C, message: string, meta: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.meta = meta;
  }

  toJSON(): { code: C; message: string; meta: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, meta: this.meta };
  }
}

/**
 * Byte-string inputs that are not a `Uint8Array`, or have the wrong length, are `INVALID_LENGTH`;
 * other wrong-type or out-of-range arguments (numbers, option objects, key types) are
 * `INVALID_ARGUMENT`. Public crypto functions never let a raw TypeError escape: they throw a
 * CryptoError, and verify-style functions return false / null instead.
 */
export type CryptoErrorCode =
  | 'INVALID_LENGTH'
  | 'INVALID_ARGUMENT'
  | 'INVALID_KEY'
  | 'INVALID_SIGNATURE'
  | 'INVALID_PROOF'
  | 'INVALID_HEX'
  | 'INVALID_UTF8'
  | 'THRESHOLD_PARAMS'
  | 'THRESHOLD_NOT_ENOUGH_PARTIALS'
  | 'THRESHOLD_DUPLICATE_INDEX'
  | 'THRESHOLD_BAD_PARTIAL'
  | 'KEYFILE_MALFORMED'
  | 'KEYFILE_UNSUPPORTED_VERSION'
  | 'KEYFILE_BAD_PASSPHRASE'
  | 'KEYFILE_PASSPHRASE_REQUIRED'
  | 'BLS_BACKEND_INVALID'
  | 'ED25519_BACKEND_UNAVAILABLE'
  | 'KECCAK_BACKEND_UNAVAILABLE'
  | 'ED25519_BACKEND_INVALID'
  | 'BLS_BACKEND_UNAVAILABLE';

export class CryptoError extends VerityError<CryptoErrorCode> {}

/**
 * For a catch that expects an input's fault: lets a typed error (a VerityError: bad bytes, a bad
 * signature, a refused block) through to the handler and rethrows anything else — a bug must not
 * be mistaken for bad input and swallowed.
 */
export function onlyTyped(e: unknown): VerityError {
  if (e instanceof VerityError) return e;
  throw e;
}

/**
 * A broken internal invariant: a bug in this node, never the fault of an input. It is not a
 * VerityError, so no handler of typed input errors catches it; escaping an event, it halts the
 * node's consensus (src/runtime) and fails a simulator run.
 */
export class InvariantError extends Error {
  constructor(message: string) {
    super(`invariant broken: ${message}`);
    this.name = 'InvariantError';
  }
}

/** Asserts what the code relies on; `message` may be a function to build it only on failure. */
export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === 'string' ? message : message());
}
