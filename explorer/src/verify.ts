/**
 * Client-side proof verification: the ledger's own `verifyBundle` against a genesis the user
 * trusts, with every certificate scheme this build knows. Pure (no DOM), so it runs under node
 * in tests as well as in the browser bundle.
 */
import { bundleGuarantees, verifyBundle } from '../../ledger/bundle.ts';
import { parseGenesis, trustAnchor } from '../../ledger/genesis.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';

export interface TrustedGenesis {
  readonly chainId: string;
  readonly engine: string;
  readonly validators: ReadonlyArray<{ name: string; power: number }>;
  readonly validatorsHash: string;
}

export type Verdict =
  | {
      readonly status: 'valid';
      readonly trusted: TrustedGenesis;
      readonly checked: string[];
      readonly guarantees: string[];
      readonly value: Record<string, unknown>;
    }
  | {
      readonly status: 'invalid';
      readonly trusted: TrustedGenesis;
      readonly code: string;
      readonly reason: string;
    }
  | { readonly status: 'bad-genesis'; readonly reason: string };

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** What a valid bundle of this kind establishes, step by step (ledger/bundle.ts). */
function checks(kind: unknown, value: Record<string, unknown>): string[] {
  const header = value.header as { height?: number; certifiedBy?: { kind?: string } } | undefined;
  const cert = `the commit certificate (${header?.certifiedBy?.kind ?? '?'}) of block ${header?.height ?? '?'} verifies against the trusted validator set: chain id and validatorsHash match, signatures and quorum checked`;
  switch (kind) {
    case 'tx':
      return [
        cert,
        'the transaction decodes canonically and its signature verifies (strict ed25519)',
        'its receipt and log entry re-hash to a leaf whose RFC 9162 inclusion proof reaches the certified logRoot at logSize',
      ];
    case 'account':
    case 'record':
      return [
        cert,
        `the Merkle-Patricia proof of the ${kind} (its value, or its absence) reaches the certified stateRoot`,
      ];
    case 'consistency':
      return [
        'both headers carry commit certificates that verify against the trusted validator set',
        'the RFC 9162 consistency proof shows the earlier log is a prefix of the later one',
      ];
    default:
      return [cert];
  }
}

export function describeGenesis(genesisJson: unknown): TrustedGenesis {
  const g = parseGenesis(genesisJson);
  return {
    chainId: g.chainId,
    engine: g.engine.name,
    validators: g.validators.validators.map((v) => ({ name: v.name, power: v.power })),
    validatorsHash: hex(g.validators.hash),
  };
}

/** Verifies `bundle` (parsed JSON) against `genesisText` (the genesis file's text). Never throws. */
export function verifyAgainstGenesis(bundle: unknown, genesisText: string): Verdict {
  let genesisJson: unknown;
  let trusted: TrustedGenesis;
  let anchor: ReturnType<typeof trustAnchor>;
  try {
    genesisJson = JSON.parse(genesisText);
    trusted = describeGenesis(genesisJson);
    anchor = trustAnchor(parseGenesis(genesisJson));
  } catch (e) {
    return { status: 'bad-genesis', reason: `the genesis is not valid: ${(e as Error).message}` };
  }
  const r = verifyBundle(bundle, anchor, { schemes: ALL_CERTIFICATE_SCHEMES });
  if (!r.ok) return { status: 'invalid', trusted, code: r.code, reason: r.reason };
  return {
    status: 'valid',
    trusted,
    checked: checks((bundle as { kind?: unknown }).kind, r.value),
    guarantees: bundleGuarantees(r.value),
    value: r.value,
  };
}

/**
 * A copy of the bundle with one byte changed (its first nibble flipped, kept canonical hex): in
 * the first Merkle proof node if there is one, else in the certificate. Says which field.
 */
export function tamper(bundle: Record<string, unknown>): { bundle: Record<string, unknown>; field: string } {
  const copy = structuredClone(bundle);
  const flip = (s: string) => {
    const mid = Math.floor(s.length / 4) * 2; // a byte boundary near the middle
    const nibble = Number.parseInt(s[mid] ?? '0', 16) ^ 1;
    return s.slice(0, mid) + nibble.toString(16) + s.slice(mid + 1);
  };
  const proof = copy.proof;
  if (Array.isArray(proof) && typeof proof[0] === 'string' && proof[0].length > 0) {
    proof[0] = flip(proof[0]);
    return { bundle: copy, field: 'proof[0]' };
  }
  if (typeof copy.certificate === 'string') {
    copy.certificate = flip(copy.certificate);
    return { bundle: copy, field: 'certificate' };
  }
  const from = copy.from as { certificate?: string } | undefined;
  if (from?.certificate !== undefined) from.certificate = flip(from.certificate);
  return { bundle: copy, field: 'from.certificate' };
}
