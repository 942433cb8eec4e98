/**
 * The offline verifier's code — the bundle checks and every engine's certificate scheme — loaded
 * when a command verifies something, not when the CLI starts.
 */
export async function loadVerification() {
  const [{ bundleGuarantees, verifyBundle }, { parseGenesis, trustAnchor }, { ALL_CERTIFICATE_SCHEMES }] =
    await Promise.all([
      import('../../ledger/bundle.ts'),
      import('../../ledger/genesis.ts'),
      import('../../src/schemes.ts'),
    ]);
  return { bundleGuarantees, verifyBundle, parseGenesis, trustAnchor, schemes: ALL_CERTIFICATE_SCHEMES };
}
