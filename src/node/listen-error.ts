/**
 * A listen failure, told in the operator's terms: the config key that holds the address and how
 * to change it, on one line. libp2p's own message is several lines with a stack and a hint about
 * its `transportManager.faultTolerance`, a setting a Verity operator does not have.
 */
import { ListenError } from './errors.ts';

export type ListenSetting = 'p2p.listen' | 'rpc.listen';

/** Why the socket could not be bound, for the errno codes an operator can act on. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRNOTAVAIL: 'no such address on this machine',
  EACCES: 'permission denied; ports below 1024 need privileges',
  EPERM: 'permission denied',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'the host name could not be resolved',
};

/**
 * The errno code behind `e`: a Node socket error carries it as `code`; libp2p wraps the socket
 * error in text (src/net reports it as START_FAILED with the socket's message inside).
 */
function errnoCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  // Errno codes only (EADDRINUSE, EAI_AGAIN), not Node's own ERR_* codes.
  if (typeof code === 'string' && /^E(AI_)?[A-Z]+$/.test(code)) return code;
  const text = e instanceof Error ? e.message : String(e);
  return /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES|EPERM|ENOTFOUND|EAI_AGAIN)\b/.exec(text)?.[1];
}

/**
 * One line of what went wrong when no errno code says it: libp2p lists each failed address as
 * "  <addr>: <reason>" below a header about its own settings, so prefer that address's line.
 */
function detail(e: unknown, address: string): string {
  const lines = (e instanceof Error ? e.message : String(e)).split('\n');
  const own = lines.find((l) => l.includes(`${address}: `));
  const line = (
    own === undefined ? (lines[0] ?? '') : own.slice(own.indexOf(`${address}: `) + address.length + 2)
  ).trim();
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
}

/** `e`, thrown while listening on `address` (`setting` in `configFile`), as a ListenError. */
export function listenError(
  setting: ListenSetting,
  address: string,
  configFile: string,
  e: unknown,
): ListenError {
  const change = `change ${setting} in ${configFile} (or --set ${setting}=…)`;
  const meta = { setting, address };
  const code = errnoCode(e);
  if (code === 'EADDRINUSE')
    return new ListenError(
      'LISTEN_IN_USE',
      `${setting} ${address} is in use — ${change} or stop what holds the port`,
      meta,
    );
  const known = code === undefined ? undefined : REASONS[code];
  const reason = code === undefined ? detail(e, address) : known === undefined ? code : `${code}: ${known}`;
  return new ListenError(
    'LISTEN_FAILED',
    `${setting} ${address} cannot be listened on (${reason}) — ${change}`,
    {
      ...meta,
      ...(code === undefined ? {} : { errno: code }),
    },
  );
}
