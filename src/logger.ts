// The built-in logger: the service's stdout and stderr and svrun's own events
// as lines `<ISO time> <stream> <text>` in log/current, or `NAME | <text>`
// on svrun's stdout (--log stdout). A write that fails (full disk, folder
// gone) is retried; lines wait in memory meanwhile, up to a bound.
import { closeSync, mkdirSync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import { IO_RETRY_MS } from './defaults.js';
import { errorText } from './errors.js';

export type Stream = 'out' | 'err' | 'svrun';

export interface LogSink {
  line(stream: Stream, text: string): void;
  /** Writes what is queued (bounded by `ms`), then closes. */
  close(ms?: number): Promise<void>;
}

/** Longest line kept whole; longer output is split here rather than held. */
export const MAX_LINE_BYTES = 64 * 1024;
/** Most bytes held while the log cannot be written; older lines are dropped (and counted) past it. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** Splits a byte stream into lines; invalid UTF-8 becomes U+FFFD, never a broken log. */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly onLine: (text: string) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.add(chunk.subarray(start, nl));
      this.flush();
      start = nl + 1;
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
  }

  /** End of stream: a last line without newline is kept, not lost. */
  end(): void {
    if (this.pendingBytes > 0) this.flush();
  }

  /** Adds to the pending line; whatever exceeds MAX_LINE_BYTES goes out as lines of its own. */
  private add(part: Buffer): void {
    while (this.pendingBytes + part.length > MAX_LINE_BYTES) {
      const cut = utf8Boundary(part, MAX_LINE_BYTES - this.pendingBytes);
      this.pending.push(part.subarray(0, cut));
      this.pendingBytes += cut;
      this.flush();
      part = part.subarray(cut);
    }
    this.pending.push(part);
    this.pendingBytes += part.length;
  }

  private flush(): void {
    const line = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.onLine(line.toString('utf8'));
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

/** Appends to a file through one fd, one write in flight, never blocking the event loop. */
class QueuedWriter {
  private queue: string[] = [];
  private queuedBytes = 0;
  private dropped = 0;
  private busy = false;
  private fd: number | null = null;
  private retry: NodeJS.Timeout | null = null;
  private drained: (() => void) | null = null;

  constructor(
    private readonly open: () => number,
    private readonly onError: (text: string) => void,
    private readonly ownsFd = true,
  ) {}

  push(text: string): void {
    this.queue.push(text);
    this.queuedBytes += text.length;
    while (this.queuedBytes > MAX_QUEUED_BYTES && this.queue.length > 1) {
      this.queuedBytes -= this.queue.shift()!.length;
      this.dropped += 1;
    }
    this.pump();
  }

  private pump(): void {
    if (this.busy || this.retry) return;
    if (this.queue.length === 0) {
      this.drained?.();
      return;
    }
    try {
      this.fd ??= this.open();
    } catch (err) {
      return this.fail(err);
    }
    if (this.dropped > 0) {
      this.queue.unshift(`${new Date().toISOString()} svrun error: log: ${this.dropped} lines dropped while the log could not be written\n`);
      this.dropped = 0;
    }
    const batch = this.queue.join('');
    const count = this.queue.length;
    this.busy = true;
    write(this.fd, batch, null, 'utf8', (err) => {
      this.busy = false;
      if (err) return this.fail(err);
      this.queue.splice(0, count);
      this.queuedBytes = this.queue.reduce((n, s) => n + s.length, 0);
      this.pump();
    });
  }

  private fail(err: unknown): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        /* already unusable */
      }
      this.fd = null;
    }
    this.onError(`log: ${errorText(err)}`);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.pump();
    }, IO_RETRY_MS);
    this.retry.unref();
  }

  async close(ms: number): Promise<void> {
    if (this.queue.length > 0 && !this.retry) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, ms).unref();
      });
    }
    if (this.retry) clearTimeout(this.retry);
    if (this.fd !== null && this.ownsFd) closeSync(this.fd);
    this.fd = null;
  }
}

/** log/current in `logDir`, created when missing. */
export const fileSink = (logDir: string, onError: (text: string) => void): LogSink => {
  const writer = new QueuedWriter(() => {
    mkdirSync(logDir, { recursive: true });
    return openSync(join(logDir, 'current'), 'a', 0o644);
  }, onError);
  return {
    line: (stream, text) => writer.push(`${new Date().toISOString()} ${stream} ${text}\n`),
    close: (ms = 2000) => writer.close(ms),
  };
};

/** `NAME | text` on svrun's stdout; the name padded to `width` (svctl boot passes the longest). */
export const stdoutSink = (name: string, width = 0, onError: (text: string) => void = () => {}): LogSink => {
  const color = process.stdout.isTTY && !process.env.NO_COLOR;
  const label = name.padEnd(width);
  const prefix = color ? `\x1b[${31 + (hash(name) % 6)}m${label}\x1b[0m | ` : `${label} | `;
  const writer = new QueuedWriter(() => 1, onError, false);
  return {
    line: (stream, text) => writer.push(`${prefix}${stream} ${text}\n`),
    close: (ms = 2000) => writer.close(ms),
  };
};

const hash = (s: string): number => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
