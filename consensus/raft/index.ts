/**
 * The Raft engine module: crash-fault replication with leader election (Ongaro & Ousterhout 2014)
 * plus PreVote and CheckQuorum (etcd-io/raft). Parameters (genesis engine.params):
 * electionTimeoutMs, heartbeatMs, maxInflight, preVote, checkQuorum (params.ts).
 *
 * Registered as `raft` (consensus/registry.ts); it confirms linearizable and lease reads
 * (reads.ts), carries out the ledger's `membership` requests (learners, and voters changed through
 * joint consensus: config.ts) and makes no empty blocks.
 */
import { CRASH_FAULTS } from '../fault-model.ts';
import type { EngineModule } from '../types.ts';
import { RAFT_CERT_GUARANTEE } from './certificate.ts';
import { RaftEngine } from './engine.ts';
import { RAFT_ENGINE } from './entry.ts';
import { type RaftMessage, raftCodec } from './messages.ts';
import { parseRaftParams } from './params.ts';

export {
  RAFT_CERT_GUARANTEE,
  RAFT_CERT_KIND,
  type RaftCertificate,
  raftCertificateScheme,
} from './certificate.ts';
export type { RaftMessage } from './messages.ts';

export const raft: EngineModule<RaftMessage> = {
  name: RAFT_ENGINE,
  description: `Raft (Ongaro & Ousterhout 2014) with PreVote and CheckQuorum; commit certificates are signed acknowledgements of a majority — ${RAFT_CERT_GUARANTEE}`,
  faultModel: CRASH_FAULTS,
  emptyBlocks: false,
  reads: ['linearizable', 'lease'],
  membership: true,
  codec: raftCodec,
  parseParams: (params, validators) => ({ ...parseRaftParams(params, validators) }),
  create: (ctx) => new RaftEngine(ctx, parseRaftParams(ctx.params)),
};
