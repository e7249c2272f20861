// boot watches its scan directory (docs/boot.md): a service folder added is
// brought up once its files have stopped changing, a folder removed is
// brought down. chokidar is loaded only here, by boot alone.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SCAN_SETTLE_MS } from '../../defaults.js';
import { readScan, type Scan } from '../../scan.js';

/** The scan directory as it is now, or null when it cannot be read (boot goes on with what it knows). */
export const readScanQuietly = (dir: string): Scan | null => {
  try {
    return readScan(dir);
  } catch {
    return null;
  }
};

/** Service folders appearing in or vanishing from the scan directory (chokidar, loaded only here). */
export const watchScanDir = async (
  dir: string,
  /** The folders already handled: any other found once the watch is set up was added meanwhile. */
  seen: ReadonlySet<string>,
  on: { added: (name: string) => void; removed: (name: string) => void },
): Promise<{ close(): Promise<void> }> => {
  const { watch } = await import('chokidar');
  const pending = new Map<string, NodeJS.Timeout>();
  // a new folder is read once its files have stopped changing for SCAN_SETTLE_MS
  const settle = (name: string) => {
    clearTimeout(pending.get(name));
    pending.set(
      name,
      setTimeout(() => {
        pending.delete(name);
        if (existsSync(join(dir, name))) on.added(name);
      }, SCAN_SETTLE_MS),
    );
  };
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
  const known = new Set<string>();
  w.on('addDir', (path) => {
    const name = top(path);
    if (name && path === join(dir, name)) {
      known.add(name);
      settle(name);
    } else if (name && known.has(name)) settle(name);
  });
  w.on('add', (path) => {
    const name = top(path);
    if (name && known.has(name)) settle(name);
  });
  w.on('unlinkDir', (path) => {
    const name = top(path);
    if (name && path === join(dir, name)) {
      known.delete(name);
      clearTimeout(pending.get(name));
      on.removed(basename(path));
    }
  });
  await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  for (const name of readScanQuietly(dir)?.entries.map((e) => e.name) ?? []) {
    if (!seen.has(name)) {
      known.add(name);
      settle(name);
    }
  }
  return {
    close: async () => {
      for (const t of pending.values()) clearTimeout(t);
      await w.close();
    },
  };
};
