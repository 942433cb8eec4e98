/**
 * VRF verification, memoised. It is a pure function of (key, proof, alpha), and the same proof is
 * checked many times: by each relay of a vote, by a proposal and its certificate, and — in the
 * simulator, where every node shares the process — by every node. 2 ms per check on this machine
 * made it the simulator's main cost. Bounded: cleared when full.
 */
import { toHex } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { vrf } from '../../crypto/vrf.ts';

const MAX_ENTRIES = 100_000;
const memo = new Map<string, Uint8Array | null>();

/** vrf.verify(publicKey, proof, alpha): the 64-byte output, or null when the proof does not verify. */
export function verifyVrf(publicKey: Uint8Array, proof: Uint8Array, alpha: Uint8Array): Uint8Array | null {
  const key = `${toHex(publicKey)}${toHex(proof)}${toHex(sha256(alpha))}`;
  const known = memo.get(key);
  if (known !== undefined) return known;
  const output = vrf.verify(publicKey, proof, alpha);
  if (memo.size >= MAX_ENTRIES) memo.clear();
  memo.set(key, output);
  return output;
}

/**
 * Records what this process's own prover just produced: a proof made by `vrf.prove` verifies, to
 * the output `vrf.proofToHash` gives. Every receiver of one's own vote — in the simulator, every
 * node — then finds it here instead of verifying it again.
 */
export function rememberOwnVrf(
  publicKey: Uint8Array,
  proof: Uint8Array,
  alpha: Uint8Array,
  output: Uint8Array,
): void {
  if (memo.size >= MAX_ENTRIES) memo.clear();
  memo.set(`${toHex(publicKey)}${toHex(proof)}${toHex(sha256(alpha))}`, output);
}
