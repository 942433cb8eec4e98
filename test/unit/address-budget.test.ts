/** Per-address RPC budgets (src/rpc/address-budget.ts): connection shares and request rates. */
import { describe, expect, it } from 'vitest';
import { AddressBudget } from '../../src/rpc/address-budget.ts';

describe('AddressBudget', () => {
  it('admits an address up to its share of connections, then again once one closes; others are apart', () => {
    const b = new AddressBudget({ maxConnections: 2, maxRequestsPerSecond: 0 });
    expect(b.admitConnection('10.0.0.1')).toBe(true);
    expect(b.admitConnection('::ffff:10.0.0.1')).toBe(true); // the same address, IPv4-mapped
    expect(b.admitConnection('10.0.0.1')).toBe(false);
    expect(b.admitConnection('10.0.0.2')).toBe(true);
    b.releaseConnection('10.0.0.1');
    expect(b.connectionsOf('10.0.0.1')).toBe(1);
    expect(b.admitConnection('10.0.0.1')).toBe(true);
    expect(b.admitConnection('10.0.0.1')).toBe(false);
  });

  it('0 means no limit', () => {
    const b = new AddressBudget({ maxConnections: 0, maxRequestsPerSecond: 0 });
    for (let i = 0; i < 10_000; i++) expect(b.admitConnection('10.0.0.1')).toBe(true);
    for (let i = 0; i < 10_000; i++) expect(b.admitRequest('10.0.0.1', 0)).toBe(true);
  });

  it('a burst of one second’s worth, then the sustained rate; each address has its own bucket', () => {
    const b = new AddressBudget({ maxConnections: 0, maxRequestsPerSecond: 10 });
    let admitted = 0;
    for (let i = 0; i < 25; i++) if (b.admitRequest('10.0.0.1', 0)) admitted++;
    expect(admitted).toBe(10);
    expect(b.admitRequest('10.0.0.2', 0)).toBe(true);
    // 100 ms refill one token, no more.
    expect(b.admitRequest('10.0.0.1', 100)).toBe(true);
    expect(b.admitRequest('10.0.0.1', 100)).toBe(false);
    // Over 10 s at 20 requests a second, half get through.
    admitted = 0;
    for (let t = 150; t < 10_150; t += 50) if (b.admitRequest('10.0.0.1', t)) admitted++;
    expect(admitted).toBeGreaterThanOrEqual(99);
    expect(admitted).toBeLessThanOrEqual(101);
  });

  it('prune forgets only the buckets that have refilled', () => {
    const b = new AddressBudget({ maxConnections: 0, maxRequestsPerSecond: 10 });
    b.admitRequest('10.0.0.1', 0);
    for (let i = 0; i < 10; i++) b.admitRequest('10.0.0.2', 900);
    b.prune(1000);
    expect(b.trackedAddresses).toBe(1); // .1 refilled; .2 spent its bucket 100 ms ago
    b.prune(5000);
    expect(b.trackedAddresses).toBe(0);
  });
});
