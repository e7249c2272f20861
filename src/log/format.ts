import { exitText } from '../vocabulary.js';
// The built-in log's format, written by svrun (src/log/builtin.ts,
// src/log/files.ts, the events of src/supervisor/state.ts) and read back by
// svctl (logs, logtail, report, instances): one module that formats and
// parses each of
// - a log line: `<ISO time> <stream> <text>` in log/current, `NAME | <stream>
//   <text>` on svrun's stdout (--log stdout), `svrun: <text>` (svrun's own)
//   or the service's line as it is in the pipe to a `log/` logger;
// - the log folder's file names: `current`, and rotated files `@<ISO time>.s`
//   (s6-log's naming, so names sort by time);
// - svrun's events, the text after `svrun ` (`started pid 42`, `exited 1`...).
// Pure: no I/O, no clock.

export type Stream = 'out' | 'err' | 'svrun';
export const STREAMS: readonly Stream[] = ['out', 'err', 'svrun'];

/** One line of log/current: its time as written (ISO 8601 UTC), its stream, its text (one line). */
export interface LogLine {
  at: string;
  stream: Stream;
  text: string;
}

/** The file the built-in logger writes to; rotated, it is renamed to rotatedName(). */
export const CURRENT = 'current';

/** `@2026-11-23T10:00:00.000Z.s`: the name log/current gets when it is rotated at `ms`. */
export const rotatedName = (ms: number): string => `@${new Date(ms).toISOString()}.s`;

const ROTATED = /^@(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\.s$/;

/** The time (ms since the epoch) a rotated file's name carries, or null when `name` is not one. */
export const parseRotatedName = (name: string): number | null => {
  const m = ROTATED.exec(name);
  if (!m) return null;
  const ms = Date.parse(m[1]!);
  return Number.isNaN(ms) ? null : ms;
};

export const isRotatedName = (name: string): boolean => parseRotatedName(name) !== null;

/** A line of log/current, newline included. */
export const formatLine = (at: string, stream: Stream, text: string): string => `${at} ${stream} ${text}\n`;

/**
 * A line on svrun's stdout after its `label` (labelFor): `web | out hello`.
 * A line with escape codes (a service's colours) ends with a reset before
 * its newline: a colour the service resets only on its next line would
 * paint the newline and the next line's label.
 */
export const formatLabelled = (label: string, stream: Stream, text: string): string =>
  `${label}${stream} ${text}${text.includes('\x1b[') ? '\x1b[0m' : ''}\n`;

/** A line in the pipe to a `log/` logger: the service's as it is, svrun's own marked `svrun: `. */
export const formatPiped = (stream: Stream, text: string): string => (stream === 'svrun' ? `svrun: ${text}\n` : `${text}\n`);

/** `web   | `: the name padded to `width` (the longest shown), as svctl boot and svctl logs prefix lines; `paint` colours the name. */
export const labelFor = (name: string, width = 0, paint: (s: string) => string = (s) => s): string => `${paint(name.padEnd(width))} | `;

const TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) /;
// `s`: a line may hold U+2028 and friends (only C0 controls are escaped when written)
const LINE = new RegExp(`${TIME.source}(out|err|svrun) (.*)$`, 's');

/** The time (ms since the epoch) a log line begins with, or null (a line written to the file by hand). */
export const lineTime = (line: string): number | null => {
  const m = TIME.exec(line);
  if (!m) return null;
  const t = Date.parse(m[1]!);
  return Number.isNaN(t) ? null : t;
};

/** A line of log/current (without its newline), or null when it is not one svrun wrote. */
export const parseLine = (line: string): LogLine | null => {
  const m = LINE.exec(line);
  if (!m || Number.isNaN(Date.parse(m[1]!))) return null;
  return { at: m[1]!, stream: m[2] as Stream, text: m[3]! };
};

/** What svrun logs about the service (the text of a `svrun` line). */
export type SvrunEvent =
  | { kind: 'started'; pid: number }
  | { kind: 'ready' }
  | { kind: 'stopping'; signal: NodeJS.Signals }
  /** `outOfMemory`: the kernel's OOM killer ended it (the memory cgroup counted a kill during the run). */
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null; outOfMemory?: true }
  | { kind: 'killed-after'; ms: number }
  | { kind: 'restarting'; ms: number }
  /** Came to rest: `down` (stopped, or exited 0 and not restarted) or `failed`. */
  | { kind: 'settled'; state: 'down' | 'failed' }
  | { kind: 'error'; text: string }
  /** Health checks (health-interval): the first failure, the last (svrun ends the run), a pass after failures. */
  | { kind: 'health-failing'; detail: string }
  | { kind: 'unhealthy'; failures: number }
  | { kind: 'health-recovered'; failures: number }
  /** No heartbeat for `ms` (watchdog): svrun ends the run. */
  | { kind: 'watchdog'; ms: number };

const times = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export const eventText = (e: SvrunEvent): string => {
  switch (e.kind) {
    case 'started':
      return `started pid ${e.pid}`;
    case 'ready':
      return 'ready';
    case 'stopping':
      return `stopping: ${e.signal}`;
    case 'exited':
      return `${exitText(e)}${e.outOfMemory ? ' (out of memory)' : ''}`;
    case 'killed-after':
      return `killed after ${e.ms} ms`;
    case 'restarting':
      return `restarting in ${e.ms} ms`;
    case 'settled':
      return e.state;
    case 'error':
      return `error: ${e.text}`;
    case 'health-failing':
      return `health: failing: check ${e.detail}`;
    case 'unhealthy':
      return `unhealthy: check failed ${times(e.failures, 'time')}`;
    case 'health-recovered':
      return `health: recovered after ${times(e.failures, 'failed check')}`;
    case 'watchdog':
      return `watchdog: no heartbeat for ${e.ms} ms`;
  }
};

const oom = (suffix: string | undefined) => (suffix ? { outOfMemory: true as const } : {});

const EVENTS: readonly [RegExp, (m: RegExpExecArray) => SvrunEvent][] = [
  [/^started pid (\d+)$/, (m) => ({ kind: 'started', pid: Number(m[1]) })],
  [/^ready$/, () => ({ kind: 'ready' })],
  [/^stopping: (SIG[A-Z0-9]+)$/, (m) => ({ kind: 'stopping', signal: m[1] as NodeJS.Signals })],
  [
    /^exited (-?\d+|null)( \(out of memory\))?$/,
    (m) => ({ kind: 'exited', code: m[1] === 'null' ? null : Number(m[1]), signal: null, ...oom(m[2]) }),
  ],
  [
    /^killed by (SIG[A-Z0-9]+)( \(out of memory\))?$/,
    (m) => ({ kind: 'exited', code: null, signal: m[1] as NodeJS.Signals, ...oom(m[2]) }),
  ],
  [/^killed after (\d+) ms$/, (m) => ({ kind: 'killed-after', ms: Number(m[1]) })],
  [/^restarting in (\d+) ms$/, (m) => ({ kind: 'restarting', ms: Number(m[1]) })],
  [/^(down|failed)$/, (m) => ({ kind: 'settled', state: m[1] as 'down' | 'failed' })],
  [/^error: (.*)$/s, (m) => ({ kind: 'error', text: m[1]! })],
  [/^health: failing: check (.*)$/s, (m) => ({ kind: 'health-failing', detail: m[1]! })],
  [/^unhealthy: check failed (\d+) times?$/, (m) => ({ kind: 'unhealthy', failures: Number(m[1]) })],
  [/^health: recovered after (\d+) failed checks?$/, (m) => ({ kind: 'health-recovered', failures: Number(m[1]) })],
  [/^watchdog: no heartbeat for (\d+) ms$/, (m) => ({ kind: 'watchdog', ms: Number(m[1]) })],
];

/** The event a `svrun` line's text reports, or null (not an event about the service). */
export const parseEvent = (text: string): SvrunEvent | null => {
  for (const [re, make] of EVENTS) {
    const m = re.exec(text);
    if (m) return make(m);
  }
  return null;
};
