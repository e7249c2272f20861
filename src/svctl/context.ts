// What every svctl command gets: the resolved global options, where to
// print, and the scan directory read once. Commands return an exit code and
// print through here, so they can be run and checked without spawning svctl.
import { EXIT_USAGE } from '../defaults.js';
import { errorText, oneLine } from '../errors.js';
import { lookup, readScan, type Scan, type ScanEntry, scanDirFrom } from '../scan.js';

export interface GlobalOptions {
  dir?: string;
  json?: boolean;
  timeout?: number;
}

export interface Ctx {
  scanDir: string;
  json: boolean;
  /** -t/--timeout in ms, or null: each service's own timeouts. */
  timeoutMs: number | null;
  /** When the command started (ms since epoch): -t counts from here. */
  startedAt: number;
  out(line: string): void;
  /** One error line, prefixed `svctl: ` (control characters escaped: one line whatever it quotes). */
  err(line: string): void;
}

/** Where svctl's text goes: the process's stdout and stderr, or a test's buffers. */
export interface Sink {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processSink: Sink = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export const makeCtx = (opts: GlobalOptions, sink: Sink = processSink): Ctx => ({
  scanDir: scanDirFrom(opts.dir),
  json: opts.json ?? false,
  timeoutMs: opts.timeout ?? null,
  startedAt: Date.now(),
  out: (line) => sink.stdout(`${line}\n`),
  err: (line) => sink.stderr(`svctl: ${oneLine(line)}\n`),
});

/** The global deadline set by -t, or null. */
export const globalDeadline = (ctx: Ctx): number | null => (ctx.timeoutMs === null ? null : ctx.startedAt + ctx.timeoutMs);

/** The scan directory, or an exit code after printing why it cannot be used. */
export const loadScan = (ctx: Ctx, strict: boolean): Scan | number => {
  let scan: Scan;
  try {
    scan = readScan(ctx.scanDir);
  } catch (err) {
    ctx.err(errorText(err));
    return EXIT_USAGE;
  }
  if (strict && scan.errors.length > 0) {
    for (const e of scan.errors) ctx.err(e);
    return EXIT_USAGE;
  }
  return scan;
};

/** The named entries (every problem printed), or an exit code. */
export const namedEntries = (ctx: Ctx, scan: Scan, names: readonly string[]): ScanEntry[] | number => {
  const found: ScanEntry[] = [];
  let bad = false;
  for (const name of new Set(names)) {
    const e = lookup(scan, name);
    if (typeof e === 'string') {
      ctx.err(e);
      bad = true;
    } else found.push(e);
  }
  return bad ? EXIT_USAGE : found;
};

/** Services (not templates) a command applies to when no name is given; `withDown` includes those with a down file. */
export const defaultEntries = (scan: Scan, withDown: boolean): ScanEntry[] =>
  scan.entries.filter((e) => !e.template && (withDown || !e.down));
