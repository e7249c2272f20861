// Restart delays (SPEC.md "svrun", Restarts): the first restart after an exit
// is immediate, then 100 ms doubling to 30 s; a run of 10 s resets.
import { describe, expect, it } from 'vitest';
import { nextShortRuns, restartDelay } from '../src/backoff.js';
import { BACKOFF_CAP_MS, BACKOFF_FIRST_MS, BACKOFF_RESET_RUN_MS } from '../src/defaults.js';

describe('backoff: the SPEC numbers', () => {
  it('first wait 100 ms, cap 30 s, reset after a run of 10 s', () => {
    expect([BACKOFF_FIRST_MS, BACKOFF_CAP_MS, BACKOFF_RESET_RUN_MS]).toEqual([100, 30_000, 10_000]);
  });
});

describe('backoff: restartDelay(shortRuns)', () => {
  it.each<[number, number]>([
    [-5, 0],
    [-1, 0],
    [0, 0],
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1600],
    [6, 3200],
    [7, 6400],
    [8, 12800],
    [9, 25600],
    [10, 30000],
    [11, 30000],
    [21, 30000],
    [22, 30000],
    [100, 30000],
    [1_000_000, 30000],
    [Number.MAX_SAFE_INTEGER, 30000],
  ])('restartDelay(%i) = %i', (n, ms) => {
    expect(restartDelay(n)).toBe(ms);
  });

  it('never decreases, never exceeds the cap, and is always a whole number of ms', () => {
    let prev = -1;
    for (let n = -3; n <= 200; n++) {
      const d = restartDelay(n);
      expect(Number.isSafeInteger(d), `n=${n}`).toBe(true);
      expect(d, `n=${n}`).toBeGreaterThanOrEqual(prev);
      expect(d, `n=${n}`).toBeLessThanOrEqual(BACKOFF_CAP_MS);
      prev = d;
    }
  });
});

describe('backoff: nextShortRuns(shortRuns, runMs)', () => {
  it.each<[string, number, number | null, number]>([
    ['a short run keeps the count', 3, 1000, 3],
    ['a run of 0 ms keeps it', 3, 0, 3],
    ['9999 ms is still short', 3, 9999, 3],
    ['10000 ms resets', 3, 10_000, 0],
    ['a long run resets', 7, 3_600_000, 0],
    ['never ran (spawn failed) keeps it', 4, null, 4],
    ['zero stays zero', 0, 500, 0],
    ['zero after a long run', 0, 20_000, 0],
  ])('%s: (%i, %s) -> %i', (_d, n, runMs, expected) => {
    expect(nextShortRuns(n, runMs)).toBe(expected);
  });

  it('a run of 10 s and more makes the next restart immediate', () => {
    expect(restartDelay(nextShortRuns(9, 10_000))).toBe(0);
    expect(restartDelay(nextShortRuns(9, 9_999))).toBe(25_600);
  });
});
