// Writing log lines to a file or fd without ever blocking svrun's event
// loop: one write in flight, a queue behind it, rotation of log/current by
// size (renamed atomically to @<ISO time>.s, like s6-log, so a reader never
// sees half a file), and retries when the disk is full or the folder gone.
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, write } from 'node:fs';
import { join } from 'node:path';
import { IO_RETRY_MS } from './defaults.js';
import { errorText } from './errors.js';

/** Past this much queued, readers of the service's output pause (back-pressure)... */
const HIGH_WATER_BYTES = 256 * 1024;
/** ...and resume below this. */
const LOW_WATER_BYTES = 64 * 1024;
/** Most bytes held while the log cannot be written at all; older lines are dropped (and counted) past it. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Retry delay for a non-blocking pipe that is full. */
const PIPE_RETRY_MS = 20;
/** One write() at most this big. */
const MAX_BATCH_BYTES = 256 * 1024;

export interface Rotation {
  /** Rotate log/current when the next line would take it past this size. */
  maxBytes: number;
  /** Rotated files kept. */
  keep: number;
}

export interface Target {
  /** Opens the destination; returns the fd and its current size. */
  open(): { fd: number; size: number };
  /** Moves the full file aside (only with rotation). */
  rotate?(): void;
  rotation?: Rotation;
  /** False for svrun's own stdout: never closed. */
  ownsFd: boolean;
}

export class QueuedWriter {
  private queue: string[] = [];
  private sizes: number[] = [];
  private queuedBytes = 0;
  private dropped = 0;
  private busy = false;
  private fd: number | null = null;
  private size = 0;
  private retry: NodeJS.Timeout | null = null;
  private drained: (() => void) | null = null;
  private drainListeners: (() => void)[] = [];

  constructor(
    private readonly target: Target,
    private readonly onError: (text: string) => void,
  ) {}

  push(text: string): void {
    const bytes = Buffer.byteLength(text);
    this.queue.push(text);
    this.sizes.push(bytes);
    this.queuedBytes += bytes;
    while (this.queuedBytes > MAX_QUEUED_BYTES && this.queue.length > 1) {
      this.queue.shift();
      this.queuedBytes -= this.sizes.shift()!;
      this.dropped += 1;
    }
    this.pump();
  }

  /** True while writes keep up badly (not while they fail: then the service must keep running). */
  get backlogged(): boolean {
    return this.queuedBytes > HIGH_WATER_BYTES && this.retry === null;
  }

  /** Calls `fn` once the backlog is below the low-water mark. */
  onDrain(fn: () => void): void {
    this.drainListeners.push(fn);
  }

  private pump(): void {
    if (this.busy || this.retry) return;
    if (this.queuedBytes < LOW_WATER_BYTES && this.drainListeners.length > 0) {
      const listeners = this.drainListeners;
      this.drainListeners = [];
      for (const fn of listeners) fn();
    }
    if (this.queue.length === 0) {
      this.drained?.();
      return;
    }
    try {
      if (this.fd === null) ({ fd: this.fd, size: this.size } = this.target.open());
      if (this.dropped > 0) {
        const note = `${new Date().toISOString()} svrun error: log: ${this.dropped} lines dropped while the log could not be written\n`;
        this.queue.unshift(note);
        this.sizes.unshift(Buffer.byteLength(note));
        this.queuedBytes += this.sizes[0]!;
        this.dropped = 0;
      }
      this.rotateIfFull();
    } catch (err) {
      return this.fail(err);
    }
    const limit = this.target.rotation ? Math.max(1, this.target.rotation.maxBytes - this.size) : MAX_BATCH_BYTES;
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && (count === 0 || bytes + this.sizes[count]! <= Math.min(limit, MAX_BATCH_BYTES))) {
      bytes += this.sizes[count]!;
      count += 1;
    }
    const batch = count === 1 ? this.queue[0]! : this.queue.slice(0, count).join('');
    this.busy = true;
    write(this.fd!, batch, null, 'utf8', (err) => {
      this.busy = false;
      if (err) return this.fail(err);
      this.queue.splice(0, count);
      this.sizes.splice(0, count);
      this.queuedBytes -= bytes;
      this.size += bytes;
      this.pump();
    });
  }

  /** Rotates before a line that would not fit (a file holds at least one line). */
  private rotateIfFull(): void {
    const r = this.target.rotation;
    if (!r || this.size === 0 || this.size + this.sizes[0]! <= r.maxBytes) return;
    this.closeFd();
    this.target.rotate!();
    ({ fd: this.fd, size: this.size } = this.target.open());
  }

  private closeFd(): void {
    if (this.fd !== null && this.target.ownsFd) {
      try {
        closeSync(this.fd);
      } catch {
        /* already unusable */
      }
    }
    this.fd = null;
  }

  private fail(err: unknown): void {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
      // a full pipe (its reader is behind or restarting): not an error, try again soon
      this.retry = setTimeout(() => {
        this.retry = null;
        this.pump();
      }, PIPE_RETRY_MS);
      this.retry.unref();
      return;
    }
    this.closeFd();
    this.onError(`log: ${errorText(err)}`);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.pump();
    }, IO_RETRY_MS);
    this.retry.unref();
  }

  /** Writes what is queued (bounded by `ms`), then closes. */
  async close(ms: number): Promise<void> {
    if (this.queue.length > 0 && !this.retry) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, ms).unref();
      });
    }
    if (this.retry) clearTimeout(this.retry);
    this.closeFd();
  }
}

/** The rotated files of `dir`, oldest first (their names sort by time). */
export const rotatedFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.startsWith('@') && f.endsWith('.s'))
    .sort();

/** log/current in `dir`, rotated by `rotation`. */
export const rotatingFile = (dir: string, rotation: Rotation): Target => {
  const current = join(dir, 'current');
  return {
    ownsFd: true,
    rotation,
    open: () => {
      mkdirSync(dir, { recursive: true });
      const fd = openSync(current, 'a', 0o644);
      return { fd, size: fstatSync(fd).size };
    },
    rotate: () => {
      let t = Date.now();
      let name: string;
      // two rotations within one millisecond must not overwrite each other
      for (;;) {
        name = join(dir, `@${new Date(t).toISOString()}.s`);
        try {
          statSync(name);
          t += 1;
        } catch {
          break;
        }
      }
      renameSync(current, name);
      const old = rotatedFiles(dir);
      for (const f of old.slice(0, Math.max(0, old.length - rotation.keep))) unlinkSync(join(dir, f));
    },
  };
};
