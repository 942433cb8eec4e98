/** A transaction's operation as JSON, the one form the RPC, the CLI and proof bundles print. */
import { fromUtf8, toHex } from '../crypto/bytes.ts';
import { formatAddress } from './address.ts';
import type { Operation } from './tx.ts';

/** UTF-8 text if the bytes are valid UTF-8, else `0x` + hex. */
export function textOrHex(bytes: Uint8Array): string {
  try {
    return fromUtf8(bytes);
  } catch {
    return `0x${toHex(bytes)}`;
  }
}

export function operationToJson(op: Operation): Record<string, unknown> {
  switch (op.type) {
    case 'transfer':
      return { type: op.type, to: formatAddress(op.to), amount: op.amount.toString() };
    case 'put':
      return {
        type: op.type,
        key: textOrHex(op.key),
        value: Buffer.from(op.value).toString('utf8'),
        valueHex: toHex(op.value),
      };
    case 'stake':
    case 'unstake':
      return { type: op.type, amount: op.amount.toString() };
    case 'register-validator':
      return {
        type: op.type,
        name: op.name,
        blsPublicKey: toHex(op.blsPublicKey),
        vrfPublicKey: op.vrfPublicKey.length === 0 ? null : toHex(op.vrfPublicKey),
      };
    case 'unjail':
      return { type: op.type };
    case 'evidence':
      return { type: op.type, bytes: op.evidence.length, evidence: toHex(op.evidence) };
    case 'membership':
      return {
        type: op.type,
        voters: op.voters.map(formatAddress),
        learners: op.learners.map(formatAddress),
      };
  }
}
