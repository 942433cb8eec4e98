/**
 * The Verity web explorer: a single page, hash-routed, plain DOM. It reads the node's own RPC
 * (same origin) and verifies proof bundles here, in the browser, with the ledger's verification
 * code (verify.ts) against a genesis the user supplies.
 *
 * Routes: #/ (status, a chart of the network's health, validators, latest blocks streaming from
 * /events), #/block/H, #/tx/ID, #/account/ADDR, #/proof/(tx|account|record)/ARG.
 */
import { decodeCertificate } from '../../ledger/certificate.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { type HealthSample, HealthSamples, healthLayout } from './health.ts';
import { tamper, type Verdict, verifyAgainstGenesis } from './verify.ts';

type Json = Record<string, unknown>;
type Child = Node | string | number | null | undefined | false;

const GENESIS_KEY = 'verity.explorer.genesis';
const MAX_BLOCKS = 20;

function h(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
  return el;
}

const link = (href: string, text: string) => h('a', { href }, text);
const short = (s: string) => (s.length > 20 ? `${s.slice(0, 10)}…${s.slice(-8)}` : s);
const iso = (ms: number) => new Date(ms).toISOString();

/** A two-column table of label → value. */
function fields(rows: Array<[string, Child]>): HTMLElement {
  return h(
    'table',
    { class: 'fields' },
    ...rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))),
  );
}

async function get(path: string): Promise<Json> {
  const res = await fetch(path, { cache: 'no-store' });
  const body = (await res.json().catch(() => ({}))) as Json;
  if (!res.ok) {
    const err = body.error as { message?: string } | undefined;
    throw new Error(err?.message ?? `HTTP ${res.status} from ${path}`);
  }
  return body;
}

const main = () => document.getElementById('main') as HTMLElement;

function show(...children: Child[]): void {
  main().replaceChildren(
    ...children
      .filter((c): c is Node | string => c !== null && c !== undefined && c !== false)
      .map((c) => (typeof c === 'number' ? String(c) : c)),
  );
}

function showError(e: unknown): void {
  show(h('p', { class: 'error', id: 'error' }, (e as Error).message));
}

// ------------------------------------------------------------------------------------------
// Latest blocks: one EventSource for the page's lifetime; the home view renders what it holds.

interface BlockEvent {
  height: number;
  hash: string;
  txs: number;
  time: number;
}

const latest: BlockEvent[] = [];
let onLatest: (() => void) | undefined;

function addBlock(b: BlockEvent): void {
  if (latest.some((x) => x.height === b.height)) return;
  latest.push(b);
  latest.sort((a, b2) => b2.height - a.height);
  latest.length = Math.min(latest.length, MAX_BLOCKS);
  onLatest?.();
}

async function startStream(): Promise<void> {
  const events = new EventSource('/events');
  events.addEventListener('block', (e) => addBlock(JSON.parse((e as MessageEvent).data) as BlockEvent));
  try {
    const status = await get('/status');
    const head = status.height as number;
    const from = Math.max(1, head - 9);
    const blocks = await Promise.all(
      Array.from({ length: head - from + 1 }, (_, i) =>
        get(`/block?height=${from + i}`).catch(() => undefined),
      ),
    );
    for (const b of blocks) {
      if (b === undefined) continue;
      const header = b.header as Json;
      addBlock({
        height: b.height as number,
        hash: b.hash as string,
        txs: header.txCount as number,
        time: header.time as number,
      });
    }
  } catch {
    // the stream still fills the list
  }
}

// ------------------------------------------------------------------------------------------
// Network health: height, round and view changes over time, in one small inline SVG (a band per
// series, health.ts lays it out). Filled from /status/history (the node samples /status every
// 5 s and keeps 10 minutes), then from /status polled while the home view is shown.

const HEALTH_POLL_MS = 2_000;
/** Kept for the page's lifetime (returning home redraws what was seen); the window is the node's. */
const health = new HealthSamples({ windowMs: 10 * 60_000, max: 600 });

const healthOf = (j: Json, time: number): HealthSample => ({
  time,
  height: j.height as number,
  round: j.round as number,
  viewChanges: j.viewChanges as number,
});

/** /status/history's samples, moved onto this browser's clock. */
async function loadHealthHistory(): Promise<void> {
  const sent = Date.now();
  const answer = await get('/status/history');
  // The node read its clock (`now`) about halfway through the request.
  const offset = (answer.now as number) - (sent + Date.now()) / 2;
  if (typeof answer.windowMs === 'number') health.windowMs = answer.windowMs;
  health.addOlder((answer.samples as Json[]).map((j) => healthOf(j, (j.time as number) - offset)));
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number> = {}, text?: string): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** healthLayout drawn: per series its name and newest value, its line and range; then the time axis. */
function healthChart(samples: readonly HealthSample[]): SVGElement {
  const l = healthLayout(samples);
  const chart = svg('svg', {
    id: 'health',
    viewBox: `0 0 ${l.width} ${l.height}`,
    role: 'img',
    'aria-label': 'height, round and view changes over time',
    'data-samples': l.samples,
  });
  if (l.series.length === 0)
    chart.append(svg('text', { x: l.plotLeft, y: l.height / 2, class: 'axis' }, 'no samples yet'));
  for (const s of l.series) {
    const bottom = s.top + l.band;
    const [lx, ly] = s.points.at(-1) ?? [l.plotRight, bottom];
    chart.append(
      svg('line', { x1: l.plotLeft, x2: l.plotRight, y1: bottom, y2: bottom, class: 'base' }),
      svg('text', { x: 0, y: s.top + 14, class: `label ${s.key}` }, s.label),
      svg('text', { x: 0, y: s.top + 30, class: 'value', 'data-series': s.key }, String(s.value)),
      // Its range: max at the top, min at the baseline (a flat series: its one value, mid-band).
      ...(s.min === s.max
        ? [svg('text', { x: l.plotRight + 6, y: s.top + l.band / 2 + 4, class: 'axis' }, String(s.min))]
        : [
            svg('text', { x: l.plotRight + 6, y: s.top + 9, class: 'axis' }, String(s.max)),
            svg('text', { x: l.plotRight + 6, y: bottom, class: 'axis' }, String(s.min)),
          ]),
      svg('polyline', {
        points: s.points.map(([x, y]) => `${x},${y}`).join(' '),
        class: `line ${s.key}`,
        'data-series': s.key,
      }),
      svg('circle', { cx: lx, cy: ly, r: 2.5, class: `dot ${s.key}` }),
    );
  }
  chart.append(
    svg('text', { x: l.plotLeft, y: l.height - 2, class: 'axis' }, l.from),
    svg('text', { x: l.plotRight, y: l.height - 2, class: 'axis', 'text-anchor': 'end' }, l.to),
  );
  return chart;
}

// ------------------------------------------------------------------------------------------
// Views

async function home(): Promise<void> {
  const [status, validators] = await Promise.all([
    get('/status'),
    get('/validators'),
    // A node without the route (older) still gets a chart, from polling alone.
    loadHealthHistory().catch(() => undefined),
  ]);
  health.add(healthOf(status, Date.now()));
  const tbody = h('tbody', { id: 'blocks' });
  const render = () =>
    tbody.replaceChildren(
      ...latest.map((b) =>
        h(
          'tr',
          { 'data-height': String(b.height) },
          h('td', {}, link(`#/block/${b.height}`, String(b.height))),
          h('td', { class: 'mono' }, short(b.hash)),
          h('td', {}, b.txs),
          h('td', {}, iso(b.time)),
        ),
      ),
    );
  const height = h('span', { id: 'height' }, String(status.height));
  const roundStep = h('span', { id: 'round' }, `${status.round} / ${status.step}`);
  const viewChanges = h('span', { id: 'view-changes' }, String(status.viewChanges));
  const peers = h('span', { id: 'peers' }, String(status.peers));
  const figure = h('figure', { class: 'health' }, healthChart(health.all));
  // Polls while the chart is on the page; a navigation away ends the loop.
  const poll = async () => {
    if (!figure.isConnected) return;
    try {
      const s = await get('/status');
      health.add(healthOf(s, Date.now()));
      figure.replaceChildren(healthChart(health.all));
      if ((s.height as number) > Number(height.textContent)) height.textContent = String(s.height);
      roundStep.textContent = `${s.round} / ${s.step}`;
      viewChanges.textContent = String(s.viewChanges);
      peers.textContent = String(s.peers);
    } catch {
      // the node did not answer this time: the next poll asks again
    }
    if (figure.isConnected) setTimeout(() => void poll(), HEALTH_POLL_MS);
  };
  onLatest = () => {
    render();
    const newest = latest[0]?.height ?? 0;
    if (newest > Number(height.textContent)) height.textContent = String(newest);
  };
  render();
  const vals = (validators.validators as Json[]).map((v) =>
    h(
      'tr',
      {},
      h('td', {}, v.index as number),
      h('td', {}, v.name as string),
      h('td', { class: 'mono' }, link(`#/account/${v.address}`, short(v.address as string))),
      h('td', {}, v.power as number),
    ),
  );
  show(
    h('h2', {}, 'Chain'),
    fields([
      ['chain id', status.chainId as string],
      ['engine', status.engine as string],
      ['height', height],
      ['round / step', roundStep],
      ['view changes', viewChanges],
      ['peers', peers],
      ['genesis hash', h('span', { class: 'mono' }, status.genesisHash as string)],
    ]),
    h('h2', {}, 'Network health'),
    figure,
    h('h2', {}, 'Latest blocks'),
    h(
      'table',
      { class: 'list' },
      h(
        'thead',
        {},
        h('tr', {}, h('th', {}, 'height'), h('th', {}, 'hash'), h('th', {}, 'txs'), h('th', {}, 'time')),
      ),
      tbody,
    ),
    h('h2', {}, `Validators (total power ${validators.totalPower})`),
    h(
      'table',
      { class: 'list' },
      h(
        'thead',
        {},
        h('tr', {}, h('th', {}, '#'), h('th', {}, 'name'), h('th', {}, 'address'), h('th', {}, 'power')),
      ),
      h('tbody', {}, ...vals),
    ),
  );
  setTimeout(() => void poll(), HEALTH_POLL_MS);
}

/** The validator indices a certificate's votes name, if its kind carries votes. */
function certificateSigners(certHex: string): { kind: string; signers: number[] | undefined } {
  const bytes = Uint8Array.from(certHex.match(/../g) ?? [], (x) => Number.parseInt(x, 16));
  const cert = decodeCertificate(bytes, ALL_CERTIFICATE_SCHEMES) as unknown as Json & { kind: string };
  const votes = (cert.votes ?? cert.acks) as Array<{ validator: number }> | undefined;
  return { kind: cert.kind, signers: votes?.map((v) => v.validator) };
}

async function blockPage(height: string): Promise<void> {
  const [b, validators] = await Promise.all([
    get(`/block?height=${encodeURIComponent(height)}`),
    get('/validators'),
  ]);
  const header = b.header as Json;
  const names = new Map((validators.validators as Json[]).map((v) => [v.index as number, v.name as string]));
  let cert: Child = 'none stored';
  if (typeof b.certificate === 'string') {
    try {
      const c = certificateSigners(b.certificate);
      cert = h(
        'span',
        { id: 'signers' },
        `${c.kind}: `,
        c.signers === undefined
          ? 'aggregate signature (no per-vote list)'
          : c.signers.map((i) => `${names.get(i) ?? '?'} (#${i})`).join(', '),
      );
    } catch (e) {
      cert = `undecodable certificate: ${(e as Error).message}`;
    }
  }
  const n = b.height as number;
  const txs = (b.txs as Json[]).map((t) =>
    h(
      'tr',
      {},
      h('td', { class: 'mono' }, link(`#/tx/${t.id}`, short(t.id as string))),
      h('td', { class: 'mono' }, link(`#/account/${t.from}`, short(t.from as string))),
      h('td', {}, t.nonce as number),
      h('td', {}, (t.op as Json).type as string),
    ),
  );
  show(
    h('h2', {}, `Block ${n}`),
    h('p', {}, n > 0 ? link(`#/block/${n - 1}`, '← previous') : '', ' ', link(`#/block/${n + 1}`, 'next →')),
    fields([
      ['hash', h('span', { class: 'mono' }, b.hash as string)],
      ['time', iso(header.time as number)],
      ['proposer', link(`#/account/${header.proposer}`, header.proposer as string)],
      ['parent', link(`#/block/${n - 1}`, header.parentHash as string)],
      ['state root', header.stateRoot as string],
      ['tx root', header.txRoot as string],
      ['log size / root', `${header.logSize} / ${header.logRoot}`],
      ['validators hash', header.validatorsHash as string],
      ['engine', header.engine as string],
      ['certificate signers', cert],
    ]),
    h('h3', {}, `Transactions (${header.txCount})`),
    h(
      'table',
      { class: 'list', id: 'txs' },
      h(
        'thead',
        {},
        h('tr', {}, h('th', {}, 'id'), h('th', {}, 'from'), h('th', {}, 'nonce'), h('th', {}, 'op')),
      ),
      h('tbody', {}, ...txs),
    ),
  );
}

async function txPage(id: string): Promise<void> {
  const t = await get(`/tx?id=${encodeURIComponent(id)}`);
  const op = t.op as Json;
  const receipt = t.receipt as Json;
  show(
    h('h2', {}, 'Transaction'),
    fields([
      ['id', h('span', { class: 'mono' }, t.id as string)],
      ['block', link(`#/block/${t.height}`, `${t.height} (position ${t.position})`)],
      ['log index', t.logIndex as number],
      ['from', link(`#/account/${t.from}`, t.from as string)],
      ['nonce', t.nonce as number],
      [
        'operation',
        Object.entries(op)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', '),
      ],
      ['receipt', JSON.stringify(receipt)],
    ]),
    h('p', {}, link(`#/proof/tx/${t.id}`, 'Verify its inclusion proof in this browser →')),
  );
}

async function accountPage(address: string): Promise<void> {
  const a = await get(`/account?address=${encodeURIComponent(address)}`);
  show(
    h('h2', {}, 'Account'),
    fields([
      ['address', h('span', { class: 'mono' }, a.address as string)],
      ['balance', a.balance as string],
      ['stake', a.stake as string],
      ['nonce (committed / next)', `${a.nonce} / ${a.nextNonce}`],
      ['as of height', a.height as number],
    ]),
    h(
      'p',
      {},
      link(`#/proof/account/${a.address}`, 'Verify this account against the state root in this browser →'),
    ),
  );
}

const PROOF_PARAM: Record<string, string> = { tx: 'id', account: 'address', record: 'key' };

async function proofPage(kind: string, arg: string): Promise<void> {
  const param = PROOF_PARAM[kind];
  if (param === undefined) throw new Error(`no proof of kind "${kind}"`);
  const path = `/proof/${kind}?${param}=${encodeURIComponent(arg)}`;
  const fetched = await get(path);
  let bundle: Json = fetched;
  let tampered: string | undefined;
  const genesis = h('textarea', {
    id: 'genesis',
    rows: '6',
    placeholder: 'paste the genesis JSON you trust',
  }) as HTMLTextAreaElement;
  genesis.value = localStorage.getItem(GENESIS_KEY) ?? '';
  let source = genesis.value === '' ? '' : 'pinned in this browser (pasted or uploaded earlier)';
  const file = h('input', {
    type: 'file',
    id: 'genesis-file',
    accept: '.json,application/json',
  }) as HTMLInputElement;
  const result = h('div', { id: 'result' });
  const bundleView = h('pre', { id: 'bundle' });
  const state = h('p', { id: 'bundle-state' });

  const renderBundle = () => {
    bundleView.textContent = JSON.stringify(bundle, null, 2);
    state.textContent =
      tampered === undefined
        ? `bundle as served by this node at ${path}`
        : `TAMPERED: one byte of ${tampered} flipped in this browser`;
  };
  const verify = () => {
    if (genesis.value.trim() === '') {
      result.replaceChildren(
        h(
          'p',
          { class: 'warn' },
          'Provide a genesis to verify against (paste, upload, or load this node’s).',
        ),
      );
      return;
    }
    render(result, verifyAgainstGenesis(bundle, genesis.value), source || 'pasted on this page');
    if (source !== 'served by this node (trusting the node itself: paste your own for an independent check)')
      localStorage.setItem(GENESIS_KEY, genesis.value);
  };
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (f === undefined) return;
    genesis.value = await f.text();
    source = `uploaded file ${f.name}`;
    verify();
  });
  genesis.addEventListener('input', () => {
    source = 'pasted on this page';
  });
  const button = (id: string, text: string, fn: () => void | Promise<void>) => {
    const b = h('button', { id, type: 'button' }, text);
    b.addEventListener('click', () => void Promise.resolve(fn()).catch(showError));
    return b;
  };
  renderBundle();
  show(
    h('h2', {}, `Proof: ${kind} ${short(arg)}`),
    h('h3', {}, '1. The genesis you trust'),
    h(
      'p',
      { class: 'note' },
      'A proof is only as independent as its trust anchor: use a genesis file you obtained yourself. It is kept in this browser (localStorage) for the next proofs.',
    ),
    genesis,
    h(
      'p',
      {},
      file,
      ' ',
      button('use-node-genesis', 'Load this node’s genesis', async () => {
        genesis.value = JSON.stringify(await get('/explorer/genesis.json'), null, 2);
        source = 'served by this node (trusting the node itself: paste your own for an independent check)';
        verify();
      }),
    ),
    h('h3', {}, '2. Verify in this browser'),
    h(
      'p',
      {},
      button('verify', 'Verify', verify),
      ' ',
      button('tamper', 'Tamper (flip a byte)', () => {
        const t = tamper(fetched);
        bundle = t.bundle;
        tampered = t.field;
        renderBundle();
        verify();
      }),
      ' ',
      button('restore', 'Restore original', () => {
        bundle = fetched;
        tampered = undefined;
        renderBundle();
        verify();
      }),
    ),
    result,
    h('details', {}, h('summary', {}, 'The bundle'), state, bundleView),
  );
  if (genesis.value !== '') verify();
}

function render(into: HTMLElement, v: Verdict, source: string): void {
  if (v.status === 'bad-genesis') {
    into.replaceChildren(
      h('p', { id: 'verdict', class: 'invalid', 'data-status': 'bad-genesis' }, 'NOT VERIFIED'),
      h('p', { id: 'reason' }, v.reason),
    );
    return;
  }
  const trusted = h(
    'div',
    { id: 'trusted' },
    h('h4', {}, 'Trusted'),
    fields([
      ['genesis', source],
      ['chain id', v.trusted.chainId],
      ['engine', v.trusted.engine],
      ['validators', v.trusted.validators.map((x) => `${x.name} (power ${x.power})`).join(', ')],
      ['validators hash', h('span', { class: 'mono' }, v.trusted.validatorsHash)],
    ]),
  );
  if (v.status === 'invalid') {
    into.replaceChildren(
      h('p', { id: 'verdict', class: 'invalid', 'data-status': 'invalid' }, `INVALID (${v.code})`),
      h('p', { id: 'reason' }, v.reason),
      trusted,
    );
    return;
  }
  into.replaceChildren(
    h('p', { id: 'verdict', class: 'valid', 'data-status': 'valid' }, 'VALID'),
    h('h4', {}, 'Checked'),
    h('ul', { id: 'checked' }, ...v.checked.map((c) => h('li', {}, c))),
    h('h4', {}, 'What it rests on'),
    h('ul', { id: 'guarantees' }, ...v.guarantees.map((g) => h('li', {}, g))),
    h('h4', {}, 'Proven'),
    h('pre', { id: 'proven' }, JSON.stringify(v.value, null, 2)),
    trusted,
  );
}

// ------------------------------------------------------------------------------------------
// Router

async function route(): Promise<void> {
  onLatest = undefined;
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  try {
    switch (parts[0]) {
      case '':
      case undefined:
        return await home();
      case 'block':
        return await blockPage(parts[1] ?? '');
      case 'tx':
        return await txPage(parts[1] ?? '');
      case 'account':
        return await accountPage(parts[1] ?? '');
      case 'proof':
        return await proofPage(parts[1] ?? '', parts.slice(2).join('/'));
      default:
        show(h('p', { class: 'error' }, `no page ${location.hash}`));
    }
  } catch (e) {
    showError(e);
  }
}

function search(q: string): void {
  const s = q.trim();
  if (/^\d+$/.test(s)) location.hash = `#/block/${s}`;
  else if (/^[0-9a-f]{64}$/i.test(s)) location.hash = `#/tx/${s.toLowerCase()}`;
  else if (s !== '') location.hash = `#/account/${s}`;
}

const form = document.getElementById('search') as HTMLFormElement;
form.addEventListener('submit', (e) => {
  e.preventDefault();
  search((form.elements.namedItem('q') as HTMLInputElement).value);
});
window.addEventListener('hashchange', () => void route());
void startStream();
void route();
