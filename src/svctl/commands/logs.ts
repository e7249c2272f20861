// `svctl logs [NAME...] [-n N] [-f]`: the last N lines of each service's
// built-in log (log/current, then the rotated files, read backwards so a
// large log costs only what is printed); -f then follows every log across
// rotations (src/log/tail.ts) until SIGINT or SIGTERM. With several
// names, or none (every service that has a log), lines are merged by their
// timestamps and prefixed `NAME | `, padded like `svctl boot`'s output; with
// one, they are printed as they are. Under svctl boot the supervisors log to
// its stdout: log/current holds only older lines, so none are shown, and
// where boot's stdout goes is said instead.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_FAILED, EXIT_OK, FOLLOW_POLL_MS } from '../../defaults.js';
import { CURRENT, labelFor, lineTime } from '../../log/format.js';
import { servicePaths } from '../../supervise/paths.js';
import { bootStdoutWhere } from '../../log/bootstdout.js';
import { type Ctx, defaultEntries, loadScan, namedEntries } from '../context.js';
import { LogTail } from '../../log/tail.js';
import { ChangeWaiter } from '../engine/changewait.js';

export interface Tagged {
  /** Index of the source (service) the line comes from. */
  source: number;
  line: string;
}

/**
 * Merges the sources' lines by time, each source's lines kept in their own
 * order (a merge, not a sort: a clock step back in one log does not shuffle
 * it). A line without a time goes with the line before it; for equal times
 * the earlier source comes first.
 */
export const mergeByTime = (sources: readonly (readonly string[])[]): Tagged[] => {
  const keys = sources.map((lines) => {
    let last = -Infinity;
    return lines.map((l) => (last = lineTime(l) ?? last));
  });
  const at = sources.map(() => 0);
  const out: Tagged[] = [];
  for (;;) {
    let best = -1;
    for (let s = 0; s < sources.length; s++) {
      if (at[s]! < sources[s]!.length && (best < 0 || keys[s]![at[s]!]! < keys[best]![at[best]!]!)) best = s;
    }
    if (best < 0) return out;
    out.push({ source: best, line: sources[best]![at[best]!]! });
    at[best]! += 1;
  }
};

/** `web | LINE`, the name padded to the longest of `names` (as `svctl boot` prints). */
export const prefixer = (names: readonly string[]): ((t: Tagged) => string) => {
  const width = Math.max(0, ...names.map((n) => n.length));
  const labels = names.map((n) => labelFor(n, width));
  return (t) => `${labels[t.source]}${t.line}`;
};

/** What to print for one batch of lines per source: merged by time and prefixed, or, for one service, as they are. */
export const formatBatch = (names: readonly string[], batch: readonly (readonly string[])[], prefixed = names.length > 1): string[] =>
  prefixed ? mergeByTime(batch).map(prefixer(names)) : batch.flat();

export interface LogsOptions {
  /** -n: lines of each service. */
  lines: number;
  follow: boolean;
}

/** The line for a service whose supervisor writes to svctl boot's stdout, which goes `where` (a terminal, the journal...). */
export const bootStdoutText = (name: string, where: string): string => `${name}: logs through svctl boot to ${where}`;

export const cmdLogs = async (ctx: Ctx, names: readonly string[], o: LogsOptions): Promise<number> => {
  const scan = loadScan(ctx, false);
  const every = names.length === 0;
  // no name: every service (down ones included: their last lines tell why), each with its name
  const entries = every ? defaultEntries(scan, true) : namedEntries(scan, names);
  const toStdout = bootStdoutWhere(scan.dir);
  const shown: { name: string; tail: LogTail }[] = [];
  for (const e of entries) {
    if (existsSync(join(e.dir, 'log', 'run')))
      ctx.err(`${e.name}: logs through its own logger (log/run); svctl logs shows the built-in log only`);
    else if (toStdout !== null) ctx.err(bootStdoutText(e.name, toStdout));
    else shown.push({ name: e.name, tail: new LogTail(servicePaths(e.dir, e.name).logDir) });
  }
  if (every && entries.length === 0) ctx.err(`no services in ${scan.dir}`);
  if (shown.length === 0) return EXIT_FAILED;
  const labels = shown.map((s) => s.name);
  const print = (batch: string[][]) => {
    const lines = formatBatch(labels, batch, every || entries.length > 1); // prefixed when several were named, even if one has no log
    if (lines.length > 0) ctx.out(lines.join('\n'));
  };

  // `svctl logs web | head`: a closed stdout ends the command quietly (the event may come after we return)
  let stop = false;
  const waker = o.follow
    ? new ChangeWaiter(
        shown.map((s) => s.tail.dir),
        FOLLOW_POLL_MS,
      )
    : null; // watching before reading: no event missed
  const halt = () => {
    stop = true;
    waker?.close();
  };
  process.stdout.on('error', halt);

  try {
    print(shown.map((s) => s.tail.start(o.lines)));
    if (!o.follow) {
      const missing = shown.filter((s) => !s.tail.found);
      for (const s of shown) if (s.tail.problem !== null) ctx.err(`${s.name}/log/current: ${s.tail.problem}`);
      // no name: a service never started has no log, and that is no news
      if (!every) for (const s of missing) if (s.tail.problem === null) ctx.err(`${s.name}: no log yet (${join(s.tail.dir, CURRENT)})`);
      if (every && missing.length === shown.length) ctx.err(`no service has a log yet in ${scan.dir}`);
      return missing.length === shown.length ? EXIT_FAILED : EXIT_OK;
    }
    process.on('SIGINT', halt);
    process.on('SIGTERM', halt);
    while (!stop) {
      await waker!.next();
      if (!stop) print(shown.map((s) => s.tail.read()));
    }
    return EXIT_OK;
  } finally {
    process.off('SIGINT', halt);
    process.off('SIGTERM', halt);
    waker?.close();
    for (const s of shown) s.tail.close();
  }
};
