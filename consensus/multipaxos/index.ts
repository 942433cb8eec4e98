/**
 * The Multi-Paxos engine module: crash-fault replication of hash-chained blocks with one Phase 1
 * per leader and one Phase 2 per block (Lamport 1998, 2001), with Flexible Paxos quorums (Howard,
 * Malkhi & Spiegelman 2016). Parameters (genesis engine.params): electionTimeoutMs, heartbeatMs,
 * maxInflight, phase1Quorum, phase2Quorum (params.ts).
 *
 * Registered in consensus/registry.ts and src/schemes.ts; swept by test/sim/multipaxos.sim.test.ts.
 */
import { CRASH_FAULTS } from '../fault-model.ts';
import type { EngineModule } from '../types.ts';
import { MULTIPAXOS_ENGINE } from './ballot.ts';
import { MULTIPAXOS_CERT_GUARANTEE } from './certificate.ts';
import { MultiPaxosEngine } from './engine.ts';
import { type MultiPaxosMessage, multipaxosCodec } from './messages.ts';
import { parseMultiPaxosParams } from './params.ts';

export {
  MULTIPAXOS_CERT_GUARANTEE,
  MULTIPAXOS_CERT_KIND,
  type MultiPaxosCertificate,
  multipaxosCertificateScheme,
} from './certificate.ts';
export type { MultiPaxosMessage } from './messages.ts';

export const multipaxos: EngineModule<MultiPaxosMessage> = {
  name: MULTIPAXOS_ENGINE,
  description: `Multi-Paxos (Lamport 1998, 2001) with Flexible Paxos quorums (Howard, Malkhi & Spiegelman 2016): one phase 1 per leader for every open slot, one phase 2 per block; commit certificates are signed acceptances of a phase-2 quorum — ${MULTIPAXOS_CERT_GUARANTEE}`,
  faultModel: CRASH_FAULTS,
  // Blocks only for transactions: a new leader re-proposes what Phase 1 adopted, and needs no no-op.
  emptyBlocks: false,
  // No ReadIndex or lease reads yet: only `local` reads, served from what this node committed.
  reads: [],
  codec: multipaxosCodec,
  parseParams: (params, validators) => ({ ...parseMultiPaxosParams(params, validators) }),
  create: (ctx) => new MultiPaxosEngine(ctx, parseMultiPaxosParams(ctx.params, ctx.validators)),
};
