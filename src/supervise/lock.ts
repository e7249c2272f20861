// supervise/lock, held with proper-lockfile for the supervisor's whole life.
// What makes it exclusive is the kernel's: svrun first takes a flock on the
// service folder itself (src/os/flock.ts), which no file planted in
// supervise/, no supervise/ swapped for another folder and no crafted
// owner record can fake or move. While that is ours, whatever is at
// supervise/lock is stale (a killed supervisor's, or planted) and is taken
// over at once. supervise/lock and its `owner` file stay, for whoever reads
// the protocol's files (docs/status.md).
//
// Where there is no flock (no koffi; a file system without it), the lock
// directory alone decides, as before: a lock whose owner (supervisor pid +
// start time in status.json, or in the lock's own `owner` file) is gone is
// taken over at once; mtime staleness counts only when no owner is recorded
// anywhere. Taking over is then serialized by a short-lived guard directory,
// so two new supervisors racing for a dead owner's lock cannot both win.
// svctl's scan lock (src/svctl/engine/scanlock.ts) is such a lock too.
//
// A held lock is never touched on a timer (an idle supervisor does no work):
// the owner file makes freshness unneeded, and an inotify watch on supervise/
// notices at once a lock removed or replaced behind our back. Only where
// inotify fails does a slow timer look instead (docs/decisions.md).
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  type Stats,
  statSync,
  unlinkSync,
  watch,
  type FSWatcher,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import {
  LOCK_GUARD_JITTER_MS,
  LOCK_GUARD_RETRY_MS,
  LOCK_GUARD_STALE_MS,
  LOCK_RETAKE_MS,
  LOCK_STALE_MS,
  LOCK_UPDATE_MS,
  MAX_TIMER_MS,
} from '../defaults.js';
import { errorText } from '../errors.js';
import { lockFolder } from '../os/flock.js';
import { isAlive } from '../os/proc.js';
import { fileKind } from '../os/safefile.js';
import { type Owner, readOwner, sameOwner, self, writeOwner } from './owner.js';

/** Lets go of the lock; `last`, when given, runs just before, under the guard (a successor waits for both). */
export type Release = (last?: () => void) => Promise<void>;

/** The file inside the lock directory that names its holder (src/supervise/owner.ts). */
const ownerFile = (lockPath: string) => join(lockPath, 'owner');

/** Who the lock's owner file names; null if absent or not ours to trust (no FIFO blocks us, no symlink is followed). */
export const readLockOwner = (lockPath: string): Owner | null => readOwner(ownerFile(lockPath));

/** True while the lock directory is there and its owner file names this process. */
const stillOurs = (lockPath: string, me: Owner): boolean => sameOwner(readLockOwner(lockPath), me);

/** `notes`: what was found at the lock's name and moved aside (one line each, for the log). */
export type LockResult = { ok: true; release: Release; notes?: readonly string[] } | { ok: false; holder: number | null };

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

/**
 * `fn` given the lock directory at `lockPath` as a path that no later swap
 * of that name redirects (/proc/self/fd/N of the directory itself, opened
 * without following a symlink); throws when no directory is there.
 */
const inLockDir = <T>(lockPath: string, fn: (dir: string) => T): T => {
  const fd = openSync(lockPath, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    return fn(`/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
};

/** proper-lockfile's lock directory at `lockPath`, our owner file in it; throws as proper-lockfile does (ELOCKED...). */
const takeLockDir = async (opts: LockOptions): Promise<Release> => {
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
    // into the directory just made, even if its name was swapped for a symlink since
    inLockDir(opts.lockPath, (dir) => writeOwner(ownerFile(dir), me));
  } catch (err) {
    await unlock().catch(() => {});
    throw err;
  }
  // proper-lockfile removes the directory with rmdir: the owner file goes first
  return async () => {
    if (stillOurs(opts.lockPath, me)) {
      try {
        inLockDir(opts.lockPath, (dir) => rmSync(ownerFile(dir), { force: true }));
      } catch {
        /* not a directory any more: not ours to empty */
      }
    }
    await unlock();
  };
};

/**
 * Clears a stale lock's name: a killed holder's lock (a directory holding
 * at most its `owner` file) is removed; anything else there (a symlink, a
 * file, a FIFO, a directory with more in it) is moved aside, and what it
 * was and where it went returned. Nothing is ever deleted through a
 * symlink, nor recursively.
 */
const clearStaleLock = (lockPath: string): { kind: string; aside: string } | null => {
  let st: Stats;
  try {
    st = lstatSync(lockPath);
  } catch {
    return null;
  }
  let kind = fileKind(st);
  if (st.isDirectory()) {
    try {
      const onlyOwner = inLockDir(lockPath, (dir) => {
        const entries = readdirSync(dir);
        if (entries.some((e) => e !== 'owner')) return false;
        if (entries.length > 0) unlinkSync(ownerFile(dir));
        return true;
      });
      if (onlyOwner) {
        rmdirSync(lockPath);
        return null;
      }
      kind = 'a directory with more than a lock in it';
    } catch {
      /* swapped meanwhile, or an owner that is no file: moved aside */
    }
  }
  const aside = `${basename(lockPath)}.${new Date().toISOString()}.not-a-lock`;
  renameSync(lockPath, join(dirname(lockPath), aside));
  return { kind, aside };
};

export const acquireLock = (opts: LockOptions): Promise<LockResult> =>
  withGuard(opts.lockPath, async () => {
    const take = () => takeLockDir(opts);
    let release: Release;
    try {
      release = await take();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const owner = opts.owner() ?? readLockOwner(opts.lockPath);
      // no owner on record (status.json lost): only then does an untouched lock go stale
      const ownerGone = owner ? owner.pid === process.pid || !isAlive(owner.pid, owner.pidStart) : lockAge(opts.lockPath) > LOCK_STALE_MS;
      if (!ownerGone) return { ok: false, holder: owner?.pid ?? null };
      clearStaleLock(opts.lockPath);
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
  /**
   * The service folder: its flock (src/os/flock.ts), taken first, is what
   * makes the lock exclusive; while it is ours, anything at `lockPath` is
   * stale. Where flock is unavailable, the lock directory alone decides.
   */
  folder: string;
  /** Runs when the lock was taken back, like `claim` (record ourselves as owner again). */
  reclaim: () => void;
  /** A problem worth a line in the log and status.json's lastError (`lock: ...`). */
  onError: (text: string) => void;
  /** Another live supervisor holds the lock now: one of us must go, and it is us. */
  onLost: (holder: number) => void;
}

/** The line for a stale lock's name moved aside. */
const asideNote = (lockPath: string, c: { kind: string; aside: string }): string =>
  `lock: supervise/${basename(lockPath)} was ${c.kind}, not svrun's lock: moved aside to ${c.aside}`;

/**
 * The lock while the service folder's flock is ours: nobody else can hold
 * it, so whatever is at its name (a killed supervisor's lock, something
 * planted) is cleared and the lock taken, never refused and never waited for.
 */
const takeOver = async (opts: LockOptions): Promise<LockResult> => {
  const notes: string[] = [];
  let release: Release;
  try {
    release = await takeLockDir(opts);
  } catch {
    const cleared = clearStaleLock(opts.lockPath);
    if (cleared) notes.push(asideNote(opts.lockPath, cleared));
    release = await takeLockDir(opts);
  }
  opts.claim();
  return { ok: true, release, notes };
};

/** The holder a refusal names when /proc/locks did not say: the recorded owner, if it still runs. */
const recordedHolder = (opts: LockOptions): number | null => {
  const owner = opts.owner() ?? readLockOwner(opts.lockPath);
  return owner && isAlive(owner.pid, owner.pidStart) ? owner.pid : null;
};

/**
 * Takes the lock (the service folder's flock, then supervise/lock) and holds
 * it for the supervisor's whole life. A compromised lock directory (removed
 * behind our back) is taken back, never fatal; without flock, if another
 * live supervisor holds it by then, `onLost` says so and there is nothing
 * left to release.
 */
export const holdLock = async (opts: HoldOptions): Promise<LockResult> => {
  const folder = lockFolder(opts.folder);
  if (folder.kind === 'busy') return { ok: false, holder: folder.holder || recordedHolder({ ...opts, onCompromised: () => {} }) };
  const owned = folder.kind === 'held';
  const acquire = (o: LockOptions): Promise<LockResult> => (owned ? takeOver(o) : acquireLock(o));
  const dropFolder = () => folder.kind === 'held' && folder.release();
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
      const again = await acquire({ ...lockOptions(gen), claim: opts.reclaim }).catch(() => null);
      if (done) return void (again?.ok && (await again.release().catch(() => {})));
      if (again?.ok) {
        for (const note of again.notes ?? []) opts.onError(note);
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
  let first: LockResult;
  try {
    first = await acquire(lockOptions(generation));
  } catch (err) {
    dropFolder();
    throw err;
  }
  if (!first.ok) {
    dropFolder();
    return first;
  }
  release = first.release;
  watchLock(generation);
  return {
    ok: true,
    notes: first.notes,
    release: async (last) => {
      done = true;
      unwatch();
      try {
        if (!last || lost) return await release();
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
      } finally {
        dropFolder(); // the lock directory first: the folder's flock is what a successor waits on
      }
    },
  };
};
