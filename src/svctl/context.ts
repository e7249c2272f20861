// What every svctl command gets: the resolved global options, where to
// print, and the scan directory read once. Commands return an exit code and
// print through here, so they can be run and checked without spawning svctl.
// What makes a command fail is thrown (an SvError, see src/errors.ts) and
// printed through the context by the action wrapper (runCommand, cli.ts).
import { EXIT_USAGE } from '../defaults.js';
import { collectErrors, errorText, oneLine, SvError } from '../errors.js';
import { lookup, readEntries, readScan, type Scan, type ScanEntries, type ScanEntry, scanDirFrom } from '../scan.js';
import { colors, colorWanted, tonePaint } from './output/colors.js';
import { makeProgressWriter, progressMode, type ProgressWriter } from './output/progresswriter.js';

export interface GlobalOptions {
  dir?: string;
  json?: boolean;
  timeout?: number;
  /** -q/--quiet: print errors only (no progress). */
  quiet?: boolean;
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
  /** Whether stdout may be coloured (a terminal, NO_COLOR unset; see colors.ts). */
  stdoutColor: boolean;
  /** Where up, down, restart, once and remove report what they do (src/svctl/output/progress.ts). */
  progress: ProgressWriter;
}

/** Where svctl's text goes: the process's stdout and stderr, or a test's buffers. */
export interface Streams {
  stdout(text: string): void;
  stderr(text: string): void;
  /** What the streams are: terminals get live progress and colours (absent: neither is one). */
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
  /** The terminal's width (absent: 80). */
  columns?: number;
  /** The environment that decides colours (NO_COLOR, FORCE_COLOR, TERM; absent: none set). */
  env?: NodeJS.ProcessEnv;
}

export const processStreams: Streams = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  get stdoutIsTTY() {
    return process.stdout.isTTY === true;
  },
  get stderrIsTTY() {
    return process.stderr.isTTY === true;
  },
  get columns() {
    return process.stderr.columns;
  },
  get env() {
    return process.env;
  },
};

export const makeCtx = (opts: GlobalOptions, streams: Streams = processStreams): Ctx => {
  const startedAt = Date.now();
  const env = streams.env ?? {};
  const stderrIsTTY = streams.stderrIsTTY ?? false;
  return {
    scanDir: scanDirFrom(opts.dir),
    json: opts.json ?? false,
    timeoutMs: opts.timeout ?? null,
    startedAt,
    out: (line) => streams.stdout(`${line}\n`),
    err: (line) => streams.stderr(`svctl: ${oneLine(line)}\n`),
    stdoutColor: colorWanted(env, streams.stdoutIsTTY ?? false),
    progress: makeProgressWriter(streams, progressMode(opts.quiet ?? false, stderrIsTTY, opts.json ?? false), {
      columns: streams.columns || 80, // a pseudo-terminal with no size set says 0
      paint: tonePaint(colors(colorWanted(env, stderrIsTTY))),
      startedAt,
    }),
  };
};

/** The global deadline set by -t, or null. */
export const globalDeadline = (ctx: Ctx): number | null => (ctx.timeoutMs === null ? null : ctx.startedAt + ctx.timeoutMs);

/** The scan directory (validated when `strict`); throws, exit 2, naming every problem when it cannot be used. */
export const loadScan = (ctx: Ctx, strict: boolean): Scan => {
  let scan: Scan;
  try {
    scan = readScan(ctx.scanDir);
  } catch (err) {
    throw new SvError('svkit.usage', EXIT_USAGE, errorText(err));
  }
  if (strict && scan.errors.length > 0) throw new SvError('svkit.invalid', EXIT_USAGE, scan.errors);
  return scan;
};

/** The scan directory's folders only, no definition read (status, check); throws like loadScan. */
export const loadEntries = (ctx: Ctx): ScanEntries => {
  try {
    return readEntries(ctx.scanDir);
  } catch (err) {
    throw new SvError('svkit.usage', EXIT_USAGE, errorText(err));
  }
};

/** The named entries; throws naming every name that is not a service. */
export const namedEntries = (scan: ScanEntries, names: readonly string[]): ScanEntry[] =>
  collectErrors(new Set(names), (name) => lookup(scan, name));

/** Services (not templates) a command applies to when no name is given; `withDown` includes those with a down file. */
export const defaultEntries = (scan: ScanEntries, withDown: boolean): ScanEntry[] =>
  scan.entries.filter((e) => !e.template && (withDown || !e.down));
