import { describe, expect, it } from 'vitest';
import { PlaceMemo } from './place-memo.ts';

const DE = { country: 'DE', continent: 'EU', colo: 'FRA', latitude: 50.1, longitude: 8.7 };

describe('PlaceMemo', () => {
  it('answers the place stored for an address until its TTL has passed', () => {
    const m = new PlaceMemo(10, 1000);
    m.set('192.0.2.1', DE, 5000);
    expect([m.get('192.0.2.1', 5000), m.get('192.0.2.1', 5999), m.get('192.0.2.1', 6000), m.get('192.0.2.2', 5000)]).toEqual([DE, DE, undefined, undefined]);
  });

  it('keeps at most `max` entries, the oldest stored going first, a refreshed one moving to the back', () => {
    const m = new PlaceMemo(2, 1000);
    m.set('a', { country: 'A' }, 0);
    m.set('b', { country: 'B' }, 0);
    m.set('a', { country: 'A2' }, 1); // refreshed: b is now the oldest
    m.set('c', { country: 'C' }, 2);
    expect([m.size, m.get('a', 3)?.country, m.get('b', 3), m.get('c', 3)?.country]).toEqual([2, 'A2', undefined, 'C']);
  });

  it('never stores an address longer than any textual IP address', () => {
    const m = new PlaceMemo();
    m.set('2001:db8::ffff:192.0.2.1', DE, 0);
    m.set('x'.repeat(46), DE, 0);
    expect([m.size, m.get('x'.repeat(46), 0)]).toEqual([1, undefined]);
  });
});
