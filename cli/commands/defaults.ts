/** Defaults several commands share, in a module that loads nothing else. */
import { join } from 'node:path';

/** The engine `npm start` and `verity testnet` use when none is named. */
export const DEFAULT_ENGINE = 'hotstuff';

/** Where `npm start` and `verity testnet` (without --out) keep the local testnet. */
export const LOCAL_TESTNET_DIR = join('.verity', 'testnet');
