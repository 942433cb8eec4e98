/** Every commit-certificate scheme this build can verify (the ledger's own plus each engine's). */
import {
  type CertificateScheme,
  type CertificateSchemes,
  ed25519QuorumScheme,
  schemeSet,
} from '../ledger/certificate.ts';

export const ALL_CERTIFICATE_SCHEMES: CertificateSchemes = schemeSet(
  ed25519QuorumScheme as unknown as CertificateScheme,
);
