/**
 * What every consensus signature is bound to: the chain, and on a chain whose validator set
 * changes, the epoch. Engines of epoch e sign and verify with `signingDomain(chainId, e)` in place
 * of the chain id, so a message signed in one epoch is not a valid message — nor half of a
 * double-sign — in another, even for the same height and round (the runtime restarts engines at
 * epoch boundaries, and heights above an epoch's last block can be signed by both epochs' sets).
 * Epoch 0 is the chain id itself: chains without staking sign exactly what they always did.
 */
export function signingDomain(chainId: string, epoch = 0): string {
  return epoch === 0 ? chainId : `${chainId}#${epoch}`;
}
