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
