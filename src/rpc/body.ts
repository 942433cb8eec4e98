/** Request bodies: read under a size cap, and parsed as JSON only after a depth check. */
import type { IncomingMessage } from 'node:http';
import { badRequest, tooLarge } from './errors.ts';
import { jsonNestsDeeperThan } from './json-depth.ts';

/**
 * Refuses a declared oversized body before reading any of it, and a chunked one as soon as the
 * running total passes the cap; the 413 then ends the connection with a lingering close (see
 * lingerThenClose), so the rest of the upload is discarded, never buffered. Read with listeners
 * rather than `for await`: leaving that loop destroys the request, and with it the socket, before
 * the 413 is written.
 */
export function readBody(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > max) return Promise.reject(tooLarge(max));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = (error?: unknown) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (error === undefined) resolve(new Uint8Array(Buffer.concat(chunks)));
      else reject(error);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > max) done(tooLarge(max));
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = () => done(req.errored);
    // Closed before its end: the client went away (#handle answers nobody then).
    const onClose = () => done(req.errored ?? CLIENT_GONE);
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/** A request closed before its end without an error of its own: the client went away. */
export const CLIENT_GONE = new Error('the request closed before its end');

/** Request bodies nest two levels ({"txs": [...]}); deeper is refused before JSON.parse (json-depth.ts). */
const MAX_JSON_DEPTH = 8;

/**
 * The field `field` of a JSON object body, unchecked. `expected` shows the body's shape in the
 * errors. (Read the body with readBody first; a route under overload refuses between the two,
 * without spending the CPU it lacks on JSON.)
 */
export function parseJsonField(body: Uint8Array, field: string, expected: string): unknown {
  if (jsonNestsDeeperThan(body, MAX_JSON_DEPTH))
    throw badRequest(
      'MALFORMED_JSON',
      `body nests deeper than ${MAX_JSON_DEPTH} levels; expected ${expected}`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e; // the client's bytes; anything else is this node's
    throw badRequest('MALFORMED_JSON', `body must be JSON: ${expected}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw badRequest('MALFORMED_JSON', `body must be a JSON object: ${expected}`);
  return (parsed as Record<string, unknown>)[field];
}
