// How many svruns svctl may be starting at once. Each launch holds a
// descriptor (svrun's stderr, read if it fails) until its svrun supervises
// or exits, so the descriptor limit (ulimit -n) bounds how many can be under
// way: a launch waits for a free descriptor instead of failing half-way
// with EMFILE. With none of its own launches under way to wait for, it
// fails at once, in one line naming the limit.
import { readdirSync } from 'node:fs';
import { CHANGE_POLL_MS, LAUNCH_FD_RESERVE } from '../../defaults.js';
import { descriptorLimit } from '../../os/fds.js';

/** The soft limit on descriptors, read once (at EMFILE, /proc/self/limits cannot be read). */
let limit: number | null | undefined;

/** How many descriptors this process has open now, and may have; null where /proc does not say. */
export const descriptorUse = (): { open: number; limit: number } | null => {
  limit ??= descriptorLimit();
  if (limit === null || limit === Infinity) return null;
  try {
    return { open: readdirSync('/proc/self/fd').length, limit };
  } catch {
    return null;
  }
};

/** Whether one more launch fits, keeping `reserve` descriptors for everything else svctl does meanwhile. */
export const launchFits = (use: { open: number; limit: number } | null, reserve = LAUNCH_FD_RESERVE): boolean =>
  use === null || use.limit - use.open > reserve;

/** The line for a launch that cannot have a descriptor, with nothing under way to wait for. */
export const noDescriptorText = (use: { open: number; limit: number } | null): string =>
  `too few file descriptors to start a supervisor (limit ${use?.limit ?? '?'}, ${use?.open ?? '?'} open): raise the limit (ulimit -n)`;

export interface Ticket {
  /** The launch is over (its descriptor closed), or no longer wanted while it waits. Idempotent. */
  done(): void;
}

interface Waiting {
  start: () => void;
  fail: (why: string) => void;
  state: 'waiting' | 'started' | 'over';
}

const queue: Waiting[] = [];
let underWay = 0;
let retry: NodeJS.Timeout | null = null;

/** Starts what waits, as long as descriptors are free; fails what can never start; looks again soon otherwise. */
const pump = (): void => {
  while (queue.length > 0 && queue[0]!.state !== 'waiting') queue.shift(); // dropped while they waited
  while (queue.length > 0) {
    const use = descriptorUse();
    if (!launchFits(use) && underWay > 0) break;
    const w = queue.shift()!;
    if (w.state !== 'waiting') continue; // dropped while it waited
    if (launchFits(use)) {
      w.state = 'started';
      underWay += 1;
      w.start();
    } else {
      w.state = 'over';
      w.fail(noDescriptorText(use));
    }
  }
  // a launch ending says so (done), but descriptors closed elsewhere do not: look again
  if (queue.length > 0 && retry === null) {
    retry = setTimeout(() => {
      retry = null;
      pump();
    }, CHANGE_POLL_MS);
    retry.unref(); // whoever waits for a launch keeps the process alive, not the gate
  }
};

/**
 * Runs `start` (which opens the launch's descriptor and spawns) now, or once
 * a descriptor is free; `fail` instead when none will be. The ticket's done()
 * ends the launch's claim, or drops it while it waits.
 */
export const whenDescriptorFree = (start: () => void, fail: (why: string) => void): Ticket => {
  const w: Waiting = { start, fail, state: 'waiting' };
  queue.push(w);
  pump();
  return {
    done: () => {
      const was = w.state;
      w.state = 'over';
      if (was !== 'started') return;
      underWay -= 1;
      pump();
    },
  };
};
