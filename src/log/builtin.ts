// The built-in logger: the service's stdout and stderr and svrun's own events
// as lines `<ISO time> <stream> <text>` in log/current (rotated by size), or
// `NAME | <stream> <text>` on svrun's stdout (--log stdout); the format is
// src/log/format.ts's. Output is split into lines here; writing, rotation and
// retries are src/log/files.ts's.
import { isatty } from 'node:tty';
import { DEFAULT_ROTATION, LOG_FLUSH_MS } from '../defaults.js';
import { printable } from '../errors.js';
import type { Rotation } from '../vocabulary.js';
import { QueuedWriter, rotatingFile } from './files.js';
import { formatLabelled, formatLine, labelFor, type Stream } from './format.js';

/** Longest line kept whole; longer output is split here rather than held. */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * Splits a byte stream into lines; invalid UTF-8 becomes U+FFFD, never a
 * broken log. A line still incomplete after `idleMs` without output (a
 * prompt, a progress bar) is written as partial rather than held.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private idle: NodeJS.Timeout | null = null;

  constructor(
    private readonly onLine: (text: string, partial: boolean) => void,
    private readonly idleMs = 0,
  ) {}

  push(chunk: Buffer): void {
    this.pushLines(chunk);
    if (this.idleMs > 0) {
      if (this.idle) clearTimeout(this.idle);
      this.idle = this.pendingBytes > 0 ? setTimeout(() => this.end(), this.idleMs) : null;
      this.idle?.unref();
    }
  }

  private pushLines(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.add(chunk.subarray(start, nl));
      this.flush();
      start = nl + 1;
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
  }

  /** End of stream (or idle): a last line without newline is kept, marked partial, not lost. */
  end(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    if (this.pendingBytes > 0) this.flush(true);
  }

  /** Adds to the pending line; whatever exceeds MAX_LINE_BYTES goes out as lines of its own. */
  private add(part: Buffer): void {
    while (this.pendingBytes + part.length > MAX_LINE_BYTES) {
      const cut = utf8Boundary(part, MAX_LINE_BYTES - this.pendingBytes);
      this.pending.push(part.subarray(0, cut));
      this.pendingBytes += cut;
      this.flush(true);
      part = part.subarray(cut);
    }
    this.pending.push(part);
    this.pendingBytes += part.length;
  }

  private flush(partial = false): void {
    const line = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.onLine(line.toString('utf8'), partial);
  }
}

/** The largest cut <= `at` that does not split a UTF-8 sequence (at most 3 bytes back). */
const utf8Boundary = (buf: Buffer, at: number): number => {
  for (let i = at; i > Math.max(0, at - 4); i--) {
    const b = buf[i];
    if (b === undefined || (b & 0xc0) !== 0x80) return i;
  }
  return at;
};

/** Escapes what would make a log line unreadable or unsafe to cat: C0 controls (but TAB and ESC) and DEL; drops a CR before the newline. */
export const cleanLine = (text: string): string => {
  const t = text.endsWith('\r') ? text.slice(0, -1) : text;
  return UNSAFE.test(t) ? t.replace(UNSAFE_ALL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : t;
};
const UNSAFE = /[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

/** Appended to a line that was written without its newline (idle output, or the end of the stream). */
export const PARTIAL_MARKER = ' [partial]';

/** Where svrun's log lines go: log/current, its stdout, or the held pipe of a log/ logger. */
export interface LogSink {
  line(stream: Stream, text: string): void;
  /** Writes what is queued (bounded by `ms`), then closes. */
  close(ms?: number): Promise<void>;
  /** True while output should pause (the writer is behind). */
  readonly backlogged: boolean;
  onDrain(fn: () => void): void;
  /** log/config changed (a reload): rotate by these from now (log/current only). */
  setRotation?(rotation: Rotation): void;
}

/**
 * A LogSink writing through `writer`; `echo`, when given, gets a copy of each
 * line, but only `writer` sets the pace (`backlogged`): a copy that is not
 * read (a terminal scrolled back, stopped with Ctrl-S) never holds the
 * service back; it queues on its own and drops its oldest lines.
 */
const sinkOf = (
  writer: QueuedWriter,
  format: (stream: Stream, text: string) => string,
  echo: QueuedWriter | null = null,
  echoLabel = '',
): LogSink => ({
  // svrun's own lines quote untrusted values (a setting, an error from a file): one line always
  line: (stream, text) => {
    const line = format(stream, stream === 'svrun' ? printable(text) : text);
    writer.push(line);
    echo?.push(echoLabel + line);
  },
  close: async (ms = LOG_FLUSH_MS) => {
    await Promise.all([writer.close(ms), echo?.close(ms)]);
  },
  get backlogged() {
    return writer.backlogged;
  },
  onDrain: (fn) => writer.onDrain(fn),
});

/** new Date().toISOString(), computed once per millisecond (a flood writes many lines in one). */
let lastMs = 0;
let lastIso = '';
const isoNow = (): string => {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
};

/**
 * log/current in `logDir`, created when missing, rotated by `rotation`;
 * `onRecover` once writes succeed again after failing. `echoFd`: a terminal
 * (see terminalFd) that is shown every line too, as written to the file;
 * `echoName`: each line shown there says whose it is (`NAME | `: one svrun
 * hosting several services).
 */
export const fileSink = (
  logDir: string,
  onError: (text: string) => void,
  rotation: Rotation = DEFAULT_ROTATION,
  onRecover?: () => void,
  echoFd: number | null = null,
  echoName: string | null = null,
): LogSink => {
  // the terminal is a courtesy, log/current is the log: the terminal's errors (hung up) are not the log's
  const echo = echoFd === null ? null : new QueuedWriter({ ownsFd: false, open: () => ({ fd: echoFd, size: 0 }) }, () => {});
  const label = echoName === null ? '' : labelFor(echoName);
  // our own copy, which the writer reads at each write and rotation: a reload changes it in place
  const held = { ...rotation };
  const sink = sinkOf(
    new QueuedWriter(rotatingFile(logDir, held), onError, onRecover),
    (stream, text) => formatLine(isoNow(), stream, text),
    echo,
    label,
  );
  // (assigned, not spread: a spread would read `backlogged` once)
  return Object.assign(sink, { setRotation: (r: Rotation) => void Object.assign(held, r) });
};

/** svrun's stdout if it is a terminal, else its stderr if that is one, else null (svctl, boot, tests: no terminal, no echo). */
export const terminalFd = (): number | null => (isatty(1) ? 1 : isatty(2) ? 2 : null);

/** `NAME | <stream> <text>` on svrun's stdout; the name padded to `width` (svctl boot passes the longest). */
export const stdoutSink = (name: string, width = 0, onError: (text: string) => void = () => {}, colorAlways = false): LogSink => {
  // isatty, not process.stdout: touching that would make fd 1 non-blocking, and it is shared
  // (svctl boot's stdout is every supervisor's and the container command's);
  // --log-color: boot's FIFO, which is no terminal, ends on one
  const color = colorAlways || (isatty(1) && !process.env.NO_COLOR);
  const label = labelFor(name, width, color ? (s) => `\x1b[${31 + (hash(name) % 6)}m${s}\x1b[0m` : undefined);
  const target = { ownsFd: false, open: () => ({ fd: 1, size: 0 }) };
  return sinkOf(new QueuedWriter(target, onError), (stream, text) => formatLabelled(label, stream, text));
};

const hash = (s: string): number => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
