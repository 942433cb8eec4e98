/**
 * Node identity: a validator's libp2p key IS its ed25519 validator key (genesis stores the peer
 * id and checks it against the key), and a non-validator full node uses its own ed25519 node key.
 * Both are 32-byte RFC 8032 seeds, which is exactly what this codebase stores as an ed25519
 * secret key.
 *
 * Note: `privateKeyFromRaw` of @libp2p/crypto would read 32 raw bytes as a *secp256k1* key; the
 * seed must go through `generateKeyPairFromSeed('Ed25519', seed)`.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { NetError } from './errors.ts';

export async function libp2pKeyFromSeed(seed: Uint8Array): Promise<Ed25519PrivateKey> {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new NetError('INVALID_KEY', 'the node key must be a 32-byte ed25519 seed');
  }
  return generateKeyPairFromSeed('Ed25519', seed);
}

/** The "12D3KooW…" peer id of an ed25519 seed, as libp2p computes it. */
export async function peerIdFromSeed(seed: Uint8Array): Promise<string> {
  return peerIdFromPrivateKey(await libp2pKeyFromSeed(seed)).toString();
}
