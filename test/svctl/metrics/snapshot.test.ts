// The metrics endpoint's shared text (src/svctl/metrics/snapshot.ts) and the
// choice of the connection that gives way (src/svctl/metrics/connections.ts):
// pure, on a clock of the test's own.
import { describe, expect, it } from 'vitest';
import { victimOf } from '../../../src/svctl/metrics/connections.js';
import { SNAPSHOT_COST_FACTOR, Snapshot } from '../../../src/svctl/metrics/snapshot.js';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
};

describe('Snapshot', () => {
  it('computes once for every get while fresh (at least minMs), then anew', () => {
    const c = clock();
    let n = 0;
    const s = new Snapshot(() => `text ${++n}`, c.now, 1000);
    expect([s.get(), s.get(), s.get()]).toEqual(['text 1', 'text 1', 'text 1']);
    c.advance(999);
    expect(s.get()).toBe('text 1');
    c.advance(1);
    expect(s.get()).toBe('text 2');
    expect(n).toBe(2);
  });

  it('a computation that took long stays fresh ten times as long: at most a tenth of a CPU whatever the scrape rate', () => {
    const c = clock();
    let n = 0;
    const s = new Snapshot(
      () => {
        c.advance(300); // 0.3 s to read 200 services
        return `text ${++n}`;
      },
      c.now,
      1000,
    );
    expect(s.get()).toBe('text 1');
    c.advance(300 * SNAPSHOT_COST_FACTOR - 1);
    expect(s.get()).toBe('text 1');
    c.advance(1);
    expect(s.get()).toBe('text 2');
  });

  it('keeps nothing from a computation that throws: the next get tries again', () => {
    const c = clock();
    let fail = true;
    const s = new Snapshot(
      () => {
        if (fail) throw new Error('no such scan directory');
        return 'text';
      },
      c.now,
      1000,
    );
    expect(() => s.get()).toThrow('no such scan directory');
    fail = false;
    expect(s.get()).toBe('text');
  });
});

describe('victimOf', () => {
  const held = (entries: [string, number, boolean][]) => new Map(entries.map(([k, since, busy]) => [k, { since, busy }]));

  it('the oldest connection not being answered and past the grace', () => {
    expect(
      victimOf(
        held([
          ['a', 100, false],
          ['b', 50, false],
          ['c', 10, true],
        ]),
        2000,
        1000,
      ),
    ).toBe('b');
  });

  it('none while every connection is being answered or has only just arrived', () => {
    expect(
      victimOf(
        held([
          ['a', 1500, false],
          ['b', 10, true],
        ]),
        2000,
        1000,
      ),
    ).toBeNull();
    expect(victimOf(held([]), 2000, 1000)).toBeNull();
  });
});
