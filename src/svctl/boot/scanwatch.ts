// boot watches its scan directory (docs/boot.md): a service folder added is
// brought up once its files have stopped changing, a folder removed is
// brought down. chokidar is loaded only here, by boot alone. Where inotify
// cannot be had (no instance left: fs.inotify.max_user_instances; no watch
// left; any error of the watcher), boot says so once and looks at the
// folder every SCAN_POLL_MS instead: a watch is a convenience, never a
// reason for init to stop.
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SCAN_POLL_MS, SCAN_SETTLE_MS } from '../../defaults.js';
import { watchErrorText } from '../../os/watch.js';
import { readEntries, readScan, type Scan } from '../../scan.js';

/** The scan directory as it is now, or null when it cannot be read (boot goes on with what it knows). */
export const readScanQuietly = (dir: string): Scan | null => {
  try {
    return readScan(dir);
  } catch {
    return null;
  }
};

/** The service folder names now, or null when the scan directory cannot be read. */
const folderNamesQuietly = (dir: string): string[] | null => {
  try {
    return readEntries(dir).entries.map((e) => e.name);
  } catch {
    return null;
  }
};

/** How a folder's top level looks (names, sizes, times): a change means its files are still being written. */
export const folderSignature = (dir: string): string => {
  try {
    return readdirSync(dir)
      .filter((n) => n !== 'supervise' && n !== 'log') // the supervisors' own files change all the time
      .sort()
      .map((n) => {
        const st = statSync(join(dir, n), { throwIfNoEntry: false });
        return `${n}:${st?.size ?? '-'}:${st?.mtimeMs ?? '-'}`;
      })
      .join('/');
  } catch {
    return 'unreadable';
  }
};

export interface ScanWatch {
  close(): Promise<void>;
}

/**
 * Service folders appearing in or vanishing from the scan directory. Never
 * rejects and never throws later: a failing watch turns into a poll, told
 * once through `say`.
 */
export const watchScanDir = async (
  dir: string,
  /** The folders already handled: any other found once the watch is set up was added meanwhile. */
  seen: ReadonlySet<string>,
  on: { added: (name: string) => void; removed: (name: string) => void },
  say: (line: string) => void,
  pollMs = SCAN_POLL_MS,
): Promise<ScanWatch> => {
  /** The folders boot knows of: those it started with, and those added since. */
  const tracked = new Set(seen);
  /** Those added since: a file added to one later is read again (a folder that was invalid may be fixed). */
  const fresh = new Set<string>();
  const pending = new Map<string, NodeJS.Timeout>();
  /** Polling: how each folder that is followed looked at the last poll. */
  const looks = new Map<string, string>();
  let closed = false;
  // a new folder is read once its files have stopped changing for SCAN_SETTLE_MS
  const settle = (name: string) => {
    clearTimeout(pending.get(name));
    pending.set(
      name,
      setTimeout(() => {
        pending.delete(name);
        if (folderNamesQuietly(dir)?.includes(name)) {
          tracked.add(name);
          fresh.add(name);
          on.added(name);
        }
      }, SCAN_SETTLE_MS),
    );
  };
  const removed = (name: string) => {
    clearTimeout(pending.get(name));
    pending.delete(name);
    looks.delete(name);
    fresh.delete(name);
    if (tracked.delete(name)) on.removed(name);
  };
  const followed = (name: string) => pending.has(name) || fresh.has(name);

  /** One look at the folder: what appeared is settled (again, while it changes), what vanished removed. */
  const poll = () => {
    const names = folderNamesQuietly(dir);
    if (names === null || closed) return;
    const now = new Set(names);
    for (const name of [...tracked, ...pending.keys()]) if (!now.has(name)) removed(name);
    for (const name of names) {
      if (tracked.has(name) && !fresh.has(name)) continue;
      const look = folderSignature(join(dir, name));
      const before = looks.get(name);
      looks.set(name, look);
      if (tracked.has(name) ? before !== undefined && before !== look : !pending.has(name) || before !== look) settle(name);
    }
  };
  let poller: NodeJS.Timeout | null = null;
  let watcher: { close(): Promise<void> } | null = null;
  const fallBack = (err: unknown) => {
    if (poller || closed) return;
    say(`boot: cannot watch ${dir} (${watchErrorText(err)}); looking every ${pollMs / 1000} s instead`);
    void watcher?.close().catch(() => {});
    watcher = null;
    poller = setInterval(poll, pollMs);
    poller.unref();
    poll(); // what changed while the watch was failing
  };

  try {
    watcher = await chokidarWatch(dir, tracked, followed, settle, removed, fallBack);
  } catch (err) {
    fallBack(err);
  }
  if (!poller) poll(); // what was added between boot's reading and the watch
  return {
    close: async () => {
      closed = true;
      for (const t of pending.values()) clearTimeout(t);
      if (poller) clearInterval(poller);
      await watcher?.close().catch(() => {});
    },
  };
};

/** The chokidar watch, once ready; any error it reports later goes to `failed`. */
const chokidarWatch = async (
  dir: string,
  tracked: ReadonlySet<string>,
  followed: (name: string) => boolean,
  changed: (name: string) => void,
  removed: (name: string) => void,
  failed: (err: unknown) => void,
): Promise<{ close(): Promise<void> }> => {
  const { watch } = await import('chokidar');
  const top = (path: string): string | null => {
    const rel = path.slice(dir.length + 1);
    const name = rel.split('/')[0] ?? '';
    return name === '' || name.startsWith('.') ? null : name;
  };
  const w = watch(dir, {
    ignoreInitial: true,
    depth: 1,
    // the supervisors' own files change all the time: not a new service
    ignored: (path: string) => /\/(supervise|log)(\/|$)/.test(path.slice(dir.length)),
  });
  let broken = false;
  // registered before anything can fail: an 'error' without a listener would end boot
  w.on('error', (err) => {
    if (broken) return;
    broken = true;
    failed(err);
  });
  w.on('addDir', (path) => {
    const name = top(path);
    if (name && ((path === join(dir, name) && !tracked.has(name)) || followed(name))) changed(name);
  });
  w.on('add', (path) => {
    const name = top(path);
    if (name && followed(name)) changed(name);
  });
  w.on('unlinkDir', (path) => {
    const name = top(path);
    if (name && path === join(dir, name)) removed(basename(path));
  });
  await new Promise<void>((resolve) => {
    w.once('ready', () => resolve());
    w.once('error', () => resolve());
  });
  return { close: () => w.close() };
};
