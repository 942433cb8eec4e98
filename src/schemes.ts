/** Every commit-certificate scheme this build can verify (the ledger's own plus each engine's). */
import { algorandCertificateScheme } from '../consensus/algorand/certificate.ts';
import { hotstuffAggregateScheme, hotstuffThresholdScheme } from '../consensus/hotstuff/certificate.ts';
import { multipaxosCertificateScheme } from '../consensus/multipaxos/certificate.ts';
import { posCertificateScheme } from '../consensus/pos/certificate.ts';
import { powCertificateScheme } from '../consensus/pow/certificate.ts';
import { raftCertificateScheme } from '../consensus/raft/certificate.ts';
import {
  type CertificateScheme,
  type CertificateSchemes,
  ed25519QuorumScheme,
  schemeSet,
} from '../ledger/certificate.ts';

export const ALL_CERTIFICATE_SCHEMES: CertificateSchemes = schemeSet(
  ed25519QuorumScheme as unknown as CertificateScheme,
  hotstuffAggregateScheme as unknown as CertificateScheme,
  hotstuffThresholdScheme as unknown as CertificateScheme,
  raftCertificateScheme as unknown as CertificateScheme,
  multipaxosCertificateScheme as unknown as CertificateScheme,
  algorandCertificateScheme as unknown as CertificateScheme,
  powCertificateScheme as unknown as CertificateScheme,
  posCertificateScheme as unknown as CertificateScheme,
);
