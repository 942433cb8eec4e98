/** The RPC's typed errors: each carries the HTTP status and the `code` a client sees. */
import { VerityError } from '../../crypto/errors.ts';

export class RpcError extends VerityError<string> {
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(code, message);
    this.status = status;
  }
}

export const notFound = (what: string) => new RpcError(404, 'NOT_FOUND', what);
export const badRequest = (code: string, message: string) => new RpcError(400, code, message);
export const tooLarge = (max: number) =>
  new RpcError(413, 'BODY_TOO_LARGE', `request body exceeds ${max} bytes`);
export const overloaded = () =>
  new RpcError(
    503,
    'MEMPOOL_FULL',
    'the node is overloaded; retry later (nothing in this request was admitted)',
  );
