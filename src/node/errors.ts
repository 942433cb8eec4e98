import { VerityError } from '../../crypto/errors.ts';

/** Problems setting up or running a node that the operator must fix (missing files, bad keys…). */
export class NodeApiError extends VerityError<'NODE_SETUP' | 'NODE_RUNTIME'> {}

/**
 * Another node already runs in this home (`meta.home`, `meta.pid` when known). Nothing was opened
 * or written; `verity start` exits 2 with the message alone, since the invocation, not the node,
 * is wrong.
 */
export class NodeRunningError extends VerityError<'NODE_RUNNING'> {}

/**
 * A configured address could not be listened on: taken by another process (LISTEN_IN_USE) or
 * refused for another reason (LISTEN_FAILED). `meta.setting` is the config key that holds it
 * (`p2p.listen`, `rpc.listen`), `meta.address` its value.
 */
export class ListenError extends VerityError<'LISTEN_IN_USE' | 'LISTEN_FAILED'> {}
