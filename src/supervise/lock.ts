// supervise/lock, held with proper-lockfile for the supervisor's whole life.
// A lock whose owner (supervisor pid + start time in status.json, or in the
// lock's own `owner` file) is gone is taken over at once; mtime staleness
// counts only when no owner is recorded anywhere. Taking over is serialized
// by a short-lived guard directory, so two new supervisors racing for a dead
// owner's lock cannot both win.
//
// A held lock is never touched on a timer (an idle supervisor does no work):
// the owner file makes freshness unneeded, and an inotify watch on supervise/
// notices at once a lock removed or replaced behind our back. Only where
// inotify fails does a slow timer look instead (docs/decisions.md).
import { mkdirSync, rmSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { LOCK_GUARD_JITTER_MS, LOCK_GUARD_RETRY_MS, LOCK_GUARD_STALE_MS, LOCK_RETAKE_MS, LOCK_STALE_MS, LOCK_UPDATE_MS, MAX_TIMER_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import { isAlive } from '../os/proc.js';
import { type Owner, readOwner, sameOwner, self, writeOwner } from './owner.js';

/** Lets go of the lock; `last`, when given, runs just before, under the guard (a successor waits for both). */
export type Release = (last?: () => void) => Promise<void>;

/** The file inside the lock directory that names its holder (src/supervise/owner.ts). */
const ownerFile = (lockPath: string) => join(lockPath, 'owner');

/** Who the lock's owner file names; null if absent or not ours to trust (no FIFO blocks us, no symlink is followed). */
export const readLockOwner = (lockPath: string): Owner | null => readOwner(ownerFile(lockPath));

/** True while the lock directory is there and its owner file names this process. */
const stillOurs = (lockPath: string, me: Owner): boolean => sameOwner(readLockOwner(lockPath), me);

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
  /** Reads the current owner from where the caller records it (status.json, or the lock's own owner file). */
  owner: () => Owner | null;
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
    const take = async (): Promise<Release> => {
      const unlock = await lockfile.lock(opts.dir, {
        lockfilePath: opts.lockPath,
        realpath: false,
        stale: NEVER_STALE_MS,
        // proper-lockfile's own refresh would wake us every few seconds: the owner file and
        // holdLock's watch do its work, so its timer is as long as it allows (never, in practice)
        update: NEVER_STALE_MS,
        retries: 0,
        onCompromised: opts.onCompromised,
      });
      const me = self();
      try {
        writeOwner(ownerFile(opts.lockPath), me);
      } catch (err) {
        await unlock().catch(() => {});
        throw err;
      }
      // proper-lockfile removes the directory with rmdir: the owner file goes first
      return async () => {
        if (stillOurs(opts.lockPath, me)) rmSync(ownerFile(opts.lockPath), { force: true });
        await unlock();
      };
    };
    let release: Release;
    try {
      release = await take();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const owner = opts.owner() ?? readLockOwner(opts.lockPath);
      // no owner on record (status.json lost): only then does an untouched lock go stale
      const ownerGone = owner ? owner.pid === process.pid || !isAlive(owner.pid, owner.pidStart) : lockAge(opts.lockPath) > LOCK_STALE_MS;
      if (!ownerGone) return { ok: false, holder: owner?.pid ?? null };
      rmSync(opts.lockPath, { recursive: true, force: true });
      release = await take();
    }
    try {
      opts.claim();
    } catch (err) {
      // not ours after all: a lock held for nothing would refuse every later supervisor while we live
      await release().catch(() => {});
      throw err;
    }
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
  /** Bumped at each taking: a compromise reported for an older taking is old news. */
  let generation = 0;
  let watcher: FSWatcher | null = null;
  let fallback: NodeJS.Timeout | null = null;
  let done = false;
  /** Another supervisor holds the lock now: status.json is its to write. */
  let lost = false;
  const unwatch = () => {
    watcher?.close();
    watcher = null;
    if (fallback) clearInterval(fallback);
    fallback = null;
  };
  const compromised = (gen: number, text: string) => {
    if (gen !== generation || done) return;
    generation += 1;
    unwatch();
    // said (status.json written) only after LOCK_RETAKE_MS: a folder being removed is gone by then
    void relock(`lock: ${text}`);
  };
  /** Any change of supervise/lock (or of supervise/ itself) is looked at once: still ours? */
  const watchLock = (gen: number) => {
    const me = self();
    const look = () => {
      if (!stillOurs(opts.lockPath, me)) compromised(gen, `${opts.lockPath} was removed or replaced: taking it back`);
    };
    const name = opts.lockPath.slice(opts.dir.length + 1);
    // no inotify watch to be had (or it broke): look now and then, as proper-lockfile's refresh did
    const poll = () => {
      unwatch();
      fallback = setInterval(look, LOCK_UPDATE_MS);
      fallback.unref();
    };
    try {
      watcher = watch(opts.dir, { persistent: false }, (_event, file) => {
        if (file === null || file === name) look();
      });
      watcher.on('error', () => {
        poll();
        look();
      });
    } catch {
      poll();
    }
    // a change between taking the lock and the watch is seen by no watch: look once now
    look();
  };
  const lockOptions = (gen: number): LockOptions => ({
    ...opts,
    onCompromised: (err) => compromised(gen, errorText(err)),
  });
  const relock = async (why: string) => {
    for (let first = true; ; first = false) {
      await sleep(LOCK_RETAKE_MS);
      if (done) return;
      if (first) opts.onError(why);
      const gen = generation;
      const again = await acquireLock({ ...lockOptions(gen), claim: opts.reclaim }).catch(() => null);
      if (done) return void (again?.ok && (await again.release().catch(() => {})));
      if (again?.ok) {
        release = again.release;
        watchLock(gen);
        return;
      }
      if (again && !again.ok && again.holder !== null && again.holder !== process.pid) {
        opts.onError(`lock: now held by pid ${again.holder}: stopping`);
        lost = true;
        release = async () => {};
        opts.onLost(again.holder);
        return;
      }
    }
  };
  const first = await acquireLock(lockOptions(generation));
  if (!first.ok) return first;
  release = first.release;
  watchLock(generation);
  return {
    ok: true,
    release: async (last) => {
      done = true;
      unwatch();
      if (!last || lost) return release();
      // under the guard: a successor that saw what `last` wrote finds the lock free, never still ours
      let ran = false;
      const finish = async () => {
        if (ran) return;
        ran = true;
        try {
          last();
        } finally {
          await release();
        }
      };
      await withGuard(opts.lockPath, finish).catch(finish);
    },
  };
};
