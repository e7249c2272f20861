// supervise/lock, held with proper-lockfile for the supervisor's whole life.
// A lock whose owner (supervisor pid + start time in status.json) is gone is
// taken over at once; mtime staleness counts only when no owner is recorded.
// Taking over is serialized by a short-lived guard directory, so two new
// supervisors racing for a dead owner's lock cannot both win.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { LOCK_GUARD_JITTER_MS, LOCK_GUARD_RETRY_MS, LOCK_GUARD_STALE_MS, LOCK_RETAKE_MS, LOCK_STALE_MS, LOCK_UPDATE_MS, MAX_TIMER_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import { isAlive } from '../os/proc.js';
import type { Status } from '../statusfile.js';

export type Release = () => Promise<void>;

export type LockResult = { ok: true; release: Release } | { ok: false; holder: number | null };

/**
 * proper-lockfile's mtime staleness is not used while an owner is recorded:
 * a supervisor stopped by Ctrl-Z cannot touch its lock, yet owns it.
 */
const NEVER_STALE_MS = MAX_TIMER_MS;

export interface LockOptions {
  /** The folder the lock protects (proper-lockfile's `file`). */
  dir: string;
  lockPath: string;
  /** Reads the current owner from status.json. */
  owner: () => Status['supervisor'];
  /** Runs while the guard is held, right after the lock is ours: record ourselves as owner. */
  claim: () => void;
  onCompromised: (err: Error) => void;
}

const lockAge = (path: string): number => {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
};

/** Holds `${lockPath}.guard` around `fn`; a guard older than LOCK_GUARD_STALE_MS was left by a killed process. */
const withGuard = async <T>(lockPath: string, fn: () => Promise<T>): Promise<T> => {
  const guard = `${lockPath}.guard`;
  for (;;) {
    try {
      mkdirSync(guard);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(guard).mtimeMs > LOCK_GUARD_STALE_MS) rmSync(guard, { recursive: true, force: true });
      } catch {
        /* removed meanwhile */
      }
      await sleep(LOCK_GUARD_RETRY_MS + Math.random() * LOCK_GUARD_JITTER_MS);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(guard, { recursive: true, force: true });
  }
};

export const acquireLock = (opts: LockOptions): Promise<LockResult> =>
  withGuard(opts.lockPath, async () => {
    const take = () =>
      lockfile.lock(opts.dir, {
        lockfilePath: opts.lockPath,
        realpath: false,
        stale: NEVER_STALE_MS,
        update: LOCK_UPDATE_MS,
        retries: 0,
        onCompromised: opts.onCompromised,
      });
    let release: Release;
    try {
      release = await take();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const owner = opts.owner();
      // no owner on record (status.json lost): only then does an untouched lock go stale
      const ownerGone = owner ? owner.pid === process.pid || !isAlive(owner.pid, owner.pidStart) : lockAge(opts.lockPath) > LOCK_STALE_MS;
      if (!ownerGone) return { ok: false, holder: owner?.pid ?? null };
      rmSync(opts.lockPath, { recursive: true, force: true });
      release = await take();
    }
    opts.claim();
    return { ok: true, release };
  });

export interface HoldOptions extends Omit<LockOptions, 'onCompromised'> {
  /** Runs when the lock was taken back, like `claim` (record ourselves as owner again). */
  reclaim: () => void;
  /** A problem worth a line in the log and status.json's lastError (`lock: ...`). */
  onError: (text: string) => void;
  /** Another live supervisor holds the lock now: one of us must go, and it is us. */
  onLost: (holder: number) => void;
}

/**
 * Takes the lock (acquireLock) and holds it for the supervisor's whole life.
 * A compromised lock (removed behind our back) is taken back, never fatal;
 * but if another live supervisor holds it by then, `onLost` says so and
 * there is nothing left to release.
 */
export const holdLock = async (opts: HoldOptions): Promise<LockResult> => {
  let release: Release = async () => {};
  const lockOptions: LockOptions = {
    ...opts,
    onCompromised: (err) => {
      opts.onError(`lock: ${errorText(err)}`);
      void relock();
    },
  };
  const relock = async () => {
    for (;;) {
      await sleep(LOCK_RETAKE_MS);
      const again = await acquireLock({ ...lockOptions, claim: opts.reclaim }).catch(() => null);
      if (again?.ok) {
        release = again.release;
        return;
      }
      if (again && !again.ok && again.holder !== null && again.holder !== process.pid) {
        opts.onError(`lock: now held by pid ${again.holder}: stopping`);
        release = async () => {};
        opts.onLost(again.holder);
        return;
      }
    }
  };
  const first = await acquireLock(lockOptions);
  if (!first.ok) return first;
  release = first.release;
  return { ok: true, release: () => release() };
};
