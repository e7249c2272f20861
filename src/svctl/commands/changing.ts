// What the commands that change services (up, once, down, restart, remove)
// share: each holds the scan directory's lock for its whole operation, so
// concurrent svctl calls never interleave, and reports its progress.
import { EXIT_FAILED, EXIT_OK } from '../../defaults.js';
import { SvError } from '../../errors.js';
import type { Scan } from '../../scan.js';
import { type Ctx, globalDeadline } from '../context.js';
import { holderText } from '../engine/lockwait.js';
import { lockScanDir } from '../engine/scanlock.js';

/**
 * Runs `fn` holding the lock; throws (exit 1) naming the holder when it
 * cannot be had in time, with `fn`'s problems when it has any, and, when a
 * stop signal arrives meanwhile, with 128+N once the lock is dropped.
 */
export const withScanLock = async (ctx: Ctx, scan: Scan, fn: () => Promise<string[]>): Promise<number> => {
  // without -t: as long as the holder lives and beats (src/svctl/engine/lockwait.ts)
  const lock = await lockScanDir(scan.dir, globalDeadline(ctx), true, (holder) =>
    ctx.progress.notice(`waiting for the scan lock, held by ${holderText(holder)}`),
  );
  if (!lock.ok) {
    const who = holderText(lock.holder);
    const why = lock.stalledMs === undefined ? '' : `, which has not moved for ${Math.round(lock.stalledMs / 1000)} s (stopped?)`;
    throw new SvError('svkit.locked', EXIT_FAILED, `${scan.dir}: locked by ${who}${why}; gave up after ${Date.now() - ctx.startedAt} ms`);
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
