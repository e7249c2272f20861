// The commands that change services: up, once, down, restart. Those that
// start something (up, once, restart) read and validate the whole scan
// directory first (exit 2, nothing changed); down only warns about invalid
// folders and stops what runs all the same (docs/services.md "Stopping never waits on
// valid folders"). Each holds the scan directory's lock for the whole
// operation so concurrent svctl calls never interleave.
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, SCAN_LOCK_WAIT_MIN_MS } from '../../defaults.js';
import { closure, dependents, type Graph, levels } from '../../graph.js';
import { SvError } from '../../errors.js';
import type { Scan } from '../../scan.js';
import { lockScanDir } from '../engine/scanlock.js';
import { type Ctx, defaultEntries, globalDeadline, loadScan, namedEntries } from '../context.js';
import { bringDown } from '../engine/bringdown.js';
import { createPlanned, prepareWithInstances, removable, removeInstances } from '../engine/instances.js';
import { isRunning, observe } from '../engine/observe.js';
import { stopPlan, stopTimeoutMs, stopWarnings } from '../engine/stopplan.js';
import { bringUp, type UpWant } from '../engine/bringup.js';

/** The sum over the levels of `g` of the longest wait on each level. */
const levelWaits = (g: Graph, waitOf: (name: string) => number): number => {
  let total = 0;
  for (const level of levels(g)) total += Math.max(0, ...level.map(waitOf));
  return Math.max(total, SCAN_LOCK_WAIT_MIN_MS);
};

/**
 * How long to wait for the lock without -t: as long as another svctl may
 * legitimately take to bring the whole directory up or down, level by level.
 */
export const defaultLockWaitMs = (scan: Scan): number =>
  levelWaits(scan.graph, (name) => {
    const d = scan.services.get(name)!;
    return Math.max(d.timeoutReadyMs, stopTimeoutMs(d));
  });

/** The same for a directory that may hold invalid folders: their stops are bounded by the plan's timeouts. */
const stopLockWaitMs = (scan: Scan): number => {
  const plan = stopPlan(scan);
  return levelWaits(plan.graph, (name) => {
    const d = scan.services.get(name);
    return Math.max(d?.timeoutReadyMs ?? 0, stopTimeoutMs(plan.targets.get(name)!));
  });
};

/**
 * Runs `fn` holding the lock; throws (exit 1) naming the holder when it
 * cannot be had in time, with `fn`'s problems when it has any, and, when a
 * stop signal arrives meanwhile, with 128+N once the lock is dropped.
 */
export const withScanLock = async (ctx: Ctx, scan: Scan, fn: () => Promise<string[]>, waitMs = defaultLockWaitMs): Promise<number> => {
  const deadline = globalDeadline(ctx) ?? ctx.startedAt + waitMs(scan);
  const lock = await lockScanDir(scan.dir, deadline);
  if (!lock.ok) {
    const who = lock.holder === null ? 'another svctl' : `svctl pid ${lock.holder}`;
    throw new SvError('svkit.locked', EXIT_FAILED, `${scan.dir}: locked by ${who}; gave up after ${Date.now() - ctx.startedAt} ms`);
  }
  let problems: string[];
  try {
    problems = await Promise.race([fn(), lock.interrupted]);
  } catch (err) {
    ctx.progress.finish(false);
    // a stop signal: say what was left half-way, in which state (the exit code stays 128+N)
    if (!(err instanceof SvError && err.code === 'svkit.signal')) throw err;
    throw new SvError(err.code, err.exitCode, ctx.progress.interrupted());
  } finally {
    await lock.release();
  }
  // the last frame and the summary, then the errors in full (a terminal's lines are cut to its width)
  ctx.progress.finish();
  if (problems.length > 0) throw new SvError('svkit.failed', EXIT_FAILED, problems);
  return EXIT_OK;
};

/** A scan (validated when `strict`) and the named services (default: all, or all without a down file). */
const prepare = (ctx: Ctx, names: readonly string[], withDown: boolean, strict = true): { scan: Scan; names: string[] } => {
  const scan = loadScan(ctx, strict);
  const entries = names.length > 0 ? namedEntries(scan, names) : defaultEntries(scan, withDown);
  return { scan, names: entries.map((e) => e.name) };
};

/**
 * up [NAME...] and once NAME...: the named services with `want`, what they
 * require with `up`; missing instances among them are created first.
 */
export const cmdUp = async (ctx: Ctx, names: readonly string[], want: UpWant = 'up'): Promise<number> => {
  const p = prepareWithInstances(ctx, names);
  return withScanLock(ctx, p.scan, async () => {
    const made = createPlanned(p.scan, closure(p.scan.graph, p.names));
    if (!made.ok) return made.problems;
    const { scan } = made;
    const targets = new Map<string, UpWant>();
    for (const n of closure(scan.graph, p.names)) targets.set(n, 'up');
    for (const n of p.names) targets.set(n, want);
    return bringUp(scan, targets, globalDeadline(ctx), {}, ctx.progress.emit);
  });
};

/**
 * down [NAME...]: the named services (default: all) and everything that
 * requires them, valid or not: an invalid folder is a warning, and its
 * supervisor is stopped with the settings it holds.
 */
export const cmdDown = async (ctx: Ctx, names: readonly string[]): Promise<number> => {
  const p = prepare(ctx, names, true, false);
  return withScanLock(
    ctx,
    p.scan,
    async () => {
      // planned under the lock: what runs now, in the order it was started with
      const plan = stopPlan(p.scan);
      const all = dependents(plan.graph, p.names);
      for (const w of stopWarnings(p.scan, plan, all)) ctx.err(w);
      return bringDown(plan, all, globalDeadline(ctx), ctx.progress.emit);
    },
    stopLockWaitMs,
  );
};

export interface RestartOptions {
  /** false (--no-deps): only the named services; what requires them keeps running. */
  deps: boolean;
}

/**
 * restart NAME...: down then up of the named services and of the running
 * services that require them (systemd's way); with --no-deps, of the named
 * services only: a dependent is never stopped, and meets its requirement
 * gone for the moment of the restart, as after a crash of it.
 */
export const cmdRestart = async (ctx: Ctx, names: readonly string[], o: RestartOptions = { deps: true }): Promise<number> => {
  if (names.length === 0) throw new SvError('svkit.usage', EXIT_USAGE, 'restart: name at least one service');
  // what will come back: the named services and (unless --no-deps) the running ones that require them
  const comingBack = (scan: Scan, named: string[], g: Graph = scan.graph) =>
    !o.deps
      ? named
      : [...dependents(g, named)].filter((n) => {
          const def = scan.services.get(n);
          return def !== undefined && (named.includes(n) || isRunning(observe(n, def.dir), def.type));
        });
  const p = prepareWithInstances(ctx, names, comingBack);
  return withScanLock(ctx, p.scan, async () => {
    const made = createPlanned(p.scan, closure(p.scan.graph, p.names));
    if (!made.ok) return made.problems;
    const { scan } = made;
    // the stop half follows what runs (the requires each supervisor started with, too)
    const plan = stopPlan(scan);
    // decided under the lock: what runs now is what comes back
    const again = comingBack(scan, p.names, plan.graph);
    const deadline = globalDeadline(ctx);
    const stopped = await bringDown(plan, o.deps ? dependents(plan.graph, p.names) : p.names, deadline, ctx.progress.emit);
    if (stopped.length > 0) return stopped;
    const targets = new Map<string, UpWant>();
    for (const n of closure(scan.graph, again)) targets.set(n, 'up');
    return bringUp(scan, targets, deadline, {}, ctx.progress.emit);
  });
};

/**
 * remove NAME@INST...: stops the instances (and what names them explicitly,
 * as down does) and deletes their folders; exit 2 for a name that is not an
 * existing instance, nothing changed.
 */
export const cmdRemove = async (ctx: Ctx, names: readonly string[]): Promise<number> => {
  if (names.length === 0) throw new SvError('svkit.usage', EXIT_USAGE, 'remove: name at least one instance');
  const scan = loadScan(ctx, true);
  const found = removable(scan, names);
  return withScanLock(ctx, scan, () => removeInstances(scan, found, globalDeadline(ctx), ctx.progress.emit));
};
