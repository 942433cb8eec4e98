/**
 * Human renderings of the node's answers for a person at a terminal: aligned fields, ISO times,
 * shortened hashes, tables. `--json` prints the answers themselves; these are for reading only, so
 * anything unexpected in an answer is shown as JSON rather than dropped.
 */

type Json = Record<string, unknown>;

/** `label  value` lines, labels padded to one column; undefined values are left out. */
export function fields(rows: ReadonlyArray<readonly [string, string | undefined]>): string {
  const shown = rows.filter((r): r is readonly [string, string] => r[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** A table: a header row, then rows, columns padded to their widest cell. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function short(hex: unknown): string {
  return typeof hex === 'string' && hex.length > 20 ? `${hex.slice(0, 16)}…` : String(hex);
}

/** An absolute time and how long ago it was (`now` injectable for tests). */
export function when(ms: unknown, now = Date.now()): string | undefined {
  if (typeof ms !== 'number') return undefined;
  const age = (now - ms) / 1000;
  const ago =
    age < 0 ? 'in the future' : age < 120 ? `${age.toFixed(1)} s ago` : `${Math.round(age / 60)} min ago`;
  return `${new Date(ms).toISOString()} (${ago})`;
}

export function bytes(n: unknown): string {
  if (typeof n !== 'number') return String(n);
  return n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A transaction's operation in a few words. */
export function operation(op: unknown): string {
  if (typeof op !== 'object' || op === null) return JSON.stringify(op);
  const o = op as Json;
  switch (o.type) {
    case 'transfer':
      return `transfer ${o.amount} to ${o.to}`;
    case 'put':
      return `put ${JSON.stringify(o.key)} = ${JSON.stringify(o.value)}`;
    case 'stake':
    case 'unstake':
      return `${o.type} ${o.amount}`;
    case 'membership': {
      const list = (v: unknown) => (Array.isArray(v) && v.length > 0 ? v.join(', ') : 'none');
      return `membership: voters ${list(o.voters)}; learners ${list(o.learners)}`;
    }
    default:
      return JSON.stringify(o);
  }
}

export function renderStatus(s: Json, now?: number): string {
  const v = s.validator as Json | null | undefined;
  const mempool = s.mempool as Json | undefined;
  return fields([
    ['chain', `${s.chainId} (${s.engine})`],
    ['height', `${s.height}${s.syncing === true ? '  (syncing)' : ''}`],
    ['latest', String(s.latestHash)],
    ['time', when(s.latestTime, now)],
    [
      'round',
      `${s.round} ${s.step}${typeof s.leader === 'number' ? `, leader #${s.leader}` : ', no leader'}, ${s.viewChanges} view changes`,
    ],
    ['validator', v ? `${v.name} (#${v.index}) ${v.address}` : 'no (a full node)'],
    ['peers', String(s.peers)],
    ['mempool', mempool ? `${mempool.size} txs, ${bytes(mempool.bytes)}` : undefined],
    ['state root', short(s.stateRoot)],
    ['log', `${s.logSize} entries, root ${short(s.logRoot)}`],
    ['genesis', short(s.genesisHash)],
  ]);
}

export function renderBlock(b: Json, now?: number): string {
  const h = (b.header ?? {}) as Json;
  const txs = Array.isArray(b.txs) ? (b.txs as Json[]) : [];
  const head = fields([
    ['height', String(b.height)],
    ['hash', String(b.hash)],
    ['parent', String(h.parentHash)],
    ['time', when(h.time, now)],
    ['proposer', String(h.proposer)],
    ['engine', String(h.engine)],
    ['txs', String(h.txCount ?? txs.length)],
    ['state root', String(h.stateRoot)],
    ['log', `${h.logSize} entries, root ${h.logRoot}`],
    ['certificate', typeof b.certificate === 'string' ? bytes(b.certificate.length / 2) : undefined],
  ]);
  if (txs.length === 0) return head;
  const rows = txs.map((t, i) => [String(i), short(t.id), String(t.from), String(t.nonce), operation(t.op)]);
  return `${head}\n\n${table(['#', 'TX', 'FROM', 'NONCE', 'OPERATION'], rows)}`;
}

export function renderTx(t: Json): string {
  const r = t.receipt as Json | undefined;
  return fields([
    ['id', String(t.id)],
    ['from', String(t.from)],
    ['nonce', String(t.nonce)],
    ['operation', operation(t.op)],
    ['block', t.height === undefined ? undefined : `${t.height}, position ${t.position}`],
    ['log index', t.logIndex === undefined ? undefined : String(t.logIndex)],
    [
      'receipt',
      r === undefined ? undefined : r.ok === true ? 'ok' : `failed: ${r.error ?? JSON.stringify(r)}`,
    ],
  ]);
}

export function renderAccount(a: Json): string {
  return fields([
    ['address', String(a.address)],
    ['balance', String(a.balance)],
    ['stake', String(a.stake)],
    ['nonce', `${a.nonce} committed, next ${a.nextNonce}`],
    ['at height', `${a.height} (${a.consistency} read)`],
  ]);
}

export function renderRecord(r: Json): string {
  return fields([
    ['key', JSON.stringify(r.key)],
    ['value', JSON.stringify(r.value)],
    [
      'value hex',
      typeof r.valueHex === 'string' && r.valueHex.length <= 128 ? r.valueHex : short(r.valueHex),
    ],
    ['owner', String(r.owner)],
    ['at height', `${r.height} (${r.consistency} read)`],
  ]);
}

/** GET /txs: a table of transactions, and where the next page starts. */
export function renderTxs(d: Json, account?: string): string {
  const txs = Array.isArray(d.txs) ? (d.txs as Json[]) : [];
  const receipt = (r: unknown) => {
    const x = (r ?? {}) as Json;
    return x.ok === true ? 'ok' : `failed ${x.code ?? ''}`.trim();
  };
  const lines =
    txs.length === 0
      ? ['no transactions']
      : [
          table(
            ['HEIGHT', 'POS', 'TX', 'FROM', 'OPERATION', 'RECEIPT'],
            txs.map((t) => [
              String(t.height),
              String(t.position),
              short(t.id),
              String(t.from),
              operation(t.op),
              receipt(t.receipt),
            ]),
          ),
        ];
  const next = d.next as Json | undefined;
  if (next !== undefined && account !== undefined)
    lines.push(`more: verity query txs --account ${account} --before ${next.before}`);
  if (typeof d.indexedFrom === 'number' && d.indexedFrom > 1)
    lines.push(`(this node indexes accounts from height ${d.indexedFrom}: earlier blocks are not listed)`);
  return lines.join('\n');
}

export function renderValidators(s: Json): string {
  const list = (s.validators as Json[]) ?? [];
  const rows = list.map((v) => `  ${String(v.address)}  power ${String(v.power)}  ${String(v.name)}`);
  return [
    `validators of block ${s.height} (epoch ${s.epoch}): ${list.length}, total power ${s.totalPower}`,
    ...rows,
  ].join('\n');
}

export function renderCandidate(c: Json): string {
  const unbonding = (c.unbonding as Json[]) ?? [];
  return fields([
    ['address', String(c.address)],
    ['name', String(c.name)],
    ['status', c.status === 'jailed' ? `jailed until block ${c.jailedUntil}` : String(c.status)],
    ['bonded', String(c.bonded)],
    [
      'unbonding',
      unbonding.length === 0
        ? 'none'
        : unbonding.map((u) => `${u.amount} (paid at block ${u.completesAt})`).join(', '),
    ],
    ['at height', String(c.height)],
  ]);
}
