/**
 * A guard run before JSON.parse on request bodies: whether a JSON text nests arrays and objects
 * deeper than `limit`. The RPC's bodies nest two levels; one nested 100,000 levels deep costs
 * JSON.parse about 60 times what a flat body of the same size does (37 ms against 0.6 ms for
 * 200 KB here), a cheap way to take the node's CPU. A byte scan is enough: in UTF-8 no byte of a
 * multi-byte character is an ASCII bracket or quote.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]); // [ {
const CLOSERS = new Set([0x5d, 0x7d]); // ] }

export function jsonNestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (OPENERS.has(b)) {
      if (++depth > limit) return true;
    } else if (CLOSERS.has(b)) depth--;
  }
  return false;
}
