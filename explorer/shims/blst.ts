/**
 * crypto/bls/blst.ts for the browser build: the native backend never loads, so crypto/bls picks
 * @noble/curves (its documented fallback).
 */
import type { BlsCore } from '../../crypto/bls/types.ts';

export type BlstModule = never;

export function loadBlst(): null {
  return null;
}

export function createBlstCore(_native: never): BlsCore {
  throw new Error('browser build: the native BLS backend is not available');
}
