// The commands that change services: up, once, down, restart. Each reads and
// validates the whole scan directory first (exit 2, nothing changed), then
// holds the scan directory's lock for the whole operation so concurrent
// svctl calls never interleave.
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../defaults.js';
import { closure, dependents, levels } from '../graph.js';
import type { Scan } from '../scan.js';
import { lockScanDir } from '../scanlock.js';
import { type Ctx, defaultEntries, globalDeadline, loadScan, namedEntries } from './context.js';
import { bringDown, stopTimeoutMs } from './down.js';
import { createPlanned, prepareWithInstances, removable, removeInstances } from './instances.js';
import { isRunning, observe } from './observe.js';
import { bringUp, type UpWant } from './up.js';

/**
 * How long to wait for the lock without -t: as long as another svctl may
 * legitimately take to bring the whole directory up or down, level by level.
 */
export const defaultLockWaitMs = (scan: Scan): number => {
  let total = 0;
  for (const level of levels(scan.graph)) {
    let longest = 0;
    for (const name of level) {
      const d = scan.services.get(name)!;
      longest = Math.max(longest, d.timeoutReadyMs, stopTimeoutMs(d));
    }
    total += longest;
  }
  return Math.max(total, 1000);
};

/** Runs `fn` holding the lock; exit 1 naming the holder when it cannot be had in time. */
export const withScanLock = async (ctx: Ctx, scan: Scan, fn: () => Promise<string[]>): Promise<number> => {
  const deadline = globalDeadline(ctx) ?? ctx.startedAt + defaultLockWaitMs(scan);
  const lock = await lockScanDir(scan.dir, deadline);
  if (!lock.ok) {
    const who = lock.holder === null ? 'another svctl' : `svctl pid ${lock.holder}`;
    ctx.err(`${scan.dir}: locked by ${who}; gave up after ${Date.now() - ctx.startedAt} ms`);
    return EXIT_FAILED;
  }
  let problems: string[];
  try {
    problems = await fn();
  } finally {
    await lock.release();
  }
  for (const p of problems) ctx.err(p);
  return problems.length > 0 ? EXIT_FAILED : EXIT_OK;
};

/** A validated scan and the named services (all for `fallback` when none are named), or an exit code. */
const prepare = (ctx: Ctx, names: readonly string[], withDown: boolean): { scan: Scan; names: string[] } | number => {
  const scan = loadScan(ctx, true);
  if (typeof scan === 'number') return scan;
  const entries = names.length > 0 ? namedEntries(ctx, scan, names) : defaultEntries(scan, withDown);
  if (typeof entries === 'number') return entries;
  return { scan, names: entries.map((e) => e.name) };
};

/**
 * up [NAME...] and once NAME...: the named services with `want`, what they
 * require with `up`; missing instances among them are created first.
 */
export const cmdUp = async (ctx: Ctx, names: readonly string[], want: UpWant = 'up'): Promise<number> => {
  const p = prepareWithInstances(ctx, names);
  if (typeof p === 'number') return p;
  return withScanLock(ctx, p.scan, async () => {
    const made = createPlanned(p.scan, closure(p.scan.graph, p.names));
    if ('problems' in made) return made.problems;
    const { scan } = made;
    const targets = new Map<string, UpWant>();
    for (const n of closure(scan.graph, p.names)) targets.set(n, 'up');
    for (const n of p.names) targets.set(n, want);
    return bringUp(scan, targets, globalDeadline(ctx));
  });
};

/** down [NAME...]: the named services (default: all) and everything that requires them. */
export const cmdDown = async (ctx: Ctx, names: readonly string[]): Promise<number> => {
  const p = prepare(ctx, names, true);
  if (typeof p === 'number') return p;
  const all = dependents(p.scan.graph, p.names);
  return withScanLock(ctx, p.scan, () => bringDown(p.scan, all, globalDeadline(ctx)));
};

/** restart NAME...: down then up of the named services and of the running services that require them. */
export const cmdRestart = async (ctx: Ctx, names: readonly string[]): Promise<number> => {
  if (names.length === 0) {
    ctx.err('restart: name at least one service');
    return EXIT_USAGE;
  }
  // what will come back: the named services and the running ones that require them
  const comingBack = (scan: Scan, named: string[]) =>
    [...dependents(scan.graph, named)].filter((n) => {
      const def = scan.services.get(n)!;
      return named.includes(n) || isRunning(observe(n, def.dir), def.type);
    });
  const p = prepareWithInstances(ctx, names, comingBack);
  if (typeof p === 'number') return p;
  return withScanLock(ctx, p.scan, async () => {
    const made = createPlanned(p.scan, closure(p.scan.graph, p.names));
    if ('problems' in made) return made.problems;
    const { scan } = made;
    // decided under the lock: what runs now is what comes back
    const again = comingBack(scan, p.names);
    const deadline = globalDeadline(ctx);
    const stopped = await bringDown(scan, dependents(scan.graph, p.names), deadline);
    if (stopped.length > 0) return stopped;
    const targets = new Map<string, UpWant>();
    for (const n of closure(scan.graph, again)) targets.set(n, 'up');
    return bringUp(scan, targets, deadline);
  });
};

/**
 * remove NAME@INST...: stops the instances (and what names them explicitly,
 * as down does) and deletes their folders; exit 2 for a name that is not an
 * existing instance, nothing changed.
 */
export const cmdRemove = async (ctx: Ctx, names: readonly string[]): Promise<number> => {
  if (names.length === 0) {
    ctx.err('remove: name at least one instance');
    return EXIT_USAGE;
  }
  const scan = loadScan(ctx, true);
  if (typeof scan === 'number') return scan;
  const found = removable(ctx, scan, names);
  if (typeof found === 'number') return found;
  return withScanLock(ctx, scan, () => removeInstances(scan, found, globalDeadline(ctx)));
};
