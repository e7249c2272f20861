// src/svctl/engine/changewait.ts: svctl's waiter wakes on a change in a watched
// folder (real files, real inotify), on a poke, and never after its
// deadline. The poll is set far beyond each test's deadline, so a quick wake
// can only come from the event itself.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeWaiter } from '../../../src/svctl/engine/changewait.js';

const NO_POLL_MS = 60_000;
const DEADLINE_MS = 10_000;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'svkit-changewait-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** How long next() took, with `during` run once it waits. */
const timeNext = async (w: ChangeWaiter, during: () => void, until = Date.now() + DEADLINE_MS): Promise<number> => {
  const t0 = Date.now();
  const next = w.next(until);
  setImmediate(during);
  await next;
  return Date.now() - t0;
};

describe('ChangeWaiter', () => {
  it('wakes when a file in a watched folder is written', async () => {
    const w = new ChangeWaiter([dir], NO_POLL_MS);
    try {
      expect(await timeNext(w, () => writeFileSync(join(dir, 'status.json'), '{}'))).toBeLessThan(DEADLINE_MS);
    } finally {
      w.close();
    }
  });

  it('watches a folder made after it was created, from the next wait on', async () => {
    const later = join(dir, 'supervise');
    const w = new ChangeWaiter([later], NO_POLL_MS);
    try {
      mkdirSync(later);
      await w.next(Date.now()); // arms the watch; the deadline is now
      expect(await timeNext(w, () => writeFileSync(join(later, 'status.json'), '{}'))).toBeLessThan(DEADLINE_MS);
    } finally {
      w.close();
    }
  });

  it('wakes on a poke', async () => {
    const w = new ChangeWaiter([dir], NO_POLL_MS);
    try {
      expect(await timeNext(w, () => w.poke())).toBeLessThan(DEADLINE_MS);
    } finally {
      w.close();
    }
  });

  it('a poke before the wait is not lost: the next wait returns at once', async () => {
    const w = new ChangeWaiter([dir], NO_POLL_MS);
    try {
      w.poke();
      expect(await timeNext(w, () => {})).toBeLessThan(DEADLINE_MS);
    } finally {
      w.close();
    }
  });

  it('with nothing happening, waits until its deadline (not its poll)', async () => {
    const w = new ChangeWaiter([dir], NO_POLL_MS);
    try {
      const until = Date.now() + 30;
      await w.next(until);
      // timers run on the monotonic clock, Date.now() on the wall clock: a ms either way
      expect(Date.now()).toBeGreaterThanOrEqual(until - 1);
      expect(Date.now()).toBeLessThan(until + DEADLINE_MS);
    } finally {
      w.close();
    }
  });

  it('wakes a waiter when closed, and waits no more after', async () => {
    const w = new ChangeWaiter([dir], NO_POLL_MS);
    expect(await timeNext(w, () => w.close())).toBeLessThan(DEADLINE_MS);
    expect(await timeNext(w, () => {})).toBeLessThan(DEADLINE_MS);
  });
});
