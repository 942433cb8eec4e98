import { VerityError } from '../../crypto/errors.ts';

/** Problems setting up or running a node that the operator must fix (missing files, bad keys…). */
export class NodeApiError extends VerityError<'NODE_SETUP' | 'NODE_RUNTIME'> {}
