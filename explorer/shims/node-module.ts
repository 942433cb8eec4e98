/**
 * `node:module` for the browser build: crypto/ed25519.ts loads libsodium (sodium-native) through
 * createRequire; in the browser nothing native loads, so the require throws and ed25519 verifies
 * on its OpenSSL path — here the node:crypto shim on @noble, with the same strict precheck in front.
 */
export function createRequire(_url: string): (id: string) => never {
  return (id) => {
    throw new Error(`browser build: ${id} is not available`);
  };
}
