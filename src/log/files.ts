// Writing log lines to a file or fd without ever blocking svrun's event
// loop: one write in flight, a queue behind it, rotation of log/current by
// size (renamed atomically to @<ISO time>.s, like s6-log, so a reader never
// sees half a file), and retries when the disk is full or the folder gone.
import { closeSync, lstatSync, readdirSync, renameSync, unlinkSync, write } from 'node:fs';
import { join } from 'node:path';
import { IO_RETRY_MS, PIPE_RETRY_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import { ensureStateDir, NotRegularFile, openAppend } from '../os/safefile.js';
import { CURRENT, eventText, formatLine, isRotatedName, rotatedName } from './format.js';
import type { Rotation } from '../vocabulary.js';

/** Log files may hold secrets: readable by svrun's user and group only (an existing file's mode is fixed on open). */
export const LOG_FILE_MODE = 0o640;

/** Past this much queued, readers of the service's output pause (back-pressure)... */
const HIGH_WATER_BYTES = 256 * 1024;
/** ...and resume below this. */
const LOW_WATER_BYTES = 64 * 1024;
/** Most bytes held while the log cannot be written at all; older lines are dropped (and counted) past it. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** One write() at most this big. */
const MAX_BATCH_BYTES = 256 * 1024;

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
  // a queue with a moving head: dropping the oldest of ~50,000 held lines must be O(1), not an Array.shift
  private queue: string[] = [];
  private sizes: number[] = [];
  private first = 0;
  /** Bytes of the last write that the fd did not take (a pipe's short write). */
  private head: Buffer | null = null;
  private queuedBytes = 0;
  private dropped = 0;
  private busy = false;
  /** Writes fail (full disk, folder gone): keep reading the service, hold then drop lines. */
  private failing = false;
  private closed = false;
  private fd: number | null = null;
  private size = 0;
  private retry: NodeJS.Timeout | null = null;
  private drained: (() => void) | null = null;
  private drainListeners: (() => void)[] = [];

  constructor(
    private readonly target: Target,
    private readonly onError: (text: string) => void,
    /** Writes succeed again after failing: an error recorded for them is resolved. */
    private readonly onRecover: () => void = () => {},
  ) {}

  private get queued(): number {
    return this.queue.length - this.first;
  }

  push(text: string): void {
    if (this.closed) return;
    const bytes = Buffer.byteLength(text);
    this.queue.push(text);
    this.sizes.push(bytes);
    this.queuedBytes += bytes;
    while (this.queuedBytes > MAX_QUEUED_BYTES && this.queued > 1) {
      this.queuedBytes -= this.sizes[this.first]!;
      this.first += 1;
      this.dropped += 1;
    }
    this.compact();
    this.pump();
  }

  /** True while the writes lag behind (a slow disk, a full pipe), not while they fail. */
  get backlogged(): boolean {
    return this.queuedBytes > HIGH_WATER_BYTES && !this.failing;
  }

  /** Calls `fn` once the backlog is below the low-water mark (or writing fails). */
  onDrain(fn: () => void): void {
    this.drainListeners.push(fn);
  }

  private notifyDrain(): void {
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const fn of listeners) fn();
  }

  private pump(): void {
    if (this.busy || this.retry) return;
    if (this.queuedBytes < LOW_WATER_BYTES && this.drainListeners.length > 0) this.notifyDrain();
    if (this.queued === 0 && this.head === null) {
      this.drained?.();
      return;
    }
    let buf: Buffer;
    try {
      if (this.fd === null) ({ fd: this.fd, size: this.size } = this.target.open());
      if (this.head) buf = this.head;
      else {
        if (this.dropped > 0) {
          const note = formatLine(
            new Date().toISOString(),
            'svrun',
            eventText({ kind: 'error', text: `log: ${this.dropped} lines dropped while the log could not be written` }),
          );
          this.compact(true);
          this.queue.unshift(note);
          this.sizes.unshift(Buffer.byteLength(note));
          this.queuedBytes += this.sizes[0]!;
          this.dropped = 0;
        }
        this.rotateIfFull();
        buf = this.takeBatch();
      }
    } catch (err) {
      return this.fail(err);
    }
    this.busy = true;
    write(this.fd, buf, 0, buf.length, null, (err, written) => {
      this.busy = false;
      if (err) {
        this.head = buf;
        return this.fail(err);
      }
      if (this.failing) {
        this.failing = false;
        this.onRecover();
      }
      this.queuedBytes -= written;
      this.size += written;
      this.head = written < buf.length ? buf.subarray(written) : null;
      this.pump();
    });
  }

  /** Moves up to a batch of whole lines from the queue into one buffer (within the rotation size). */
  private takeBatch(): Buffer {
    const limit = Math.min(
      MAX_BATCH_BYTES,
      this.target.rotation ? Math.max(1, this.target.rotation.maxBytes - this.size) : MAX_BATCH_BYTES,
    );
    let bytes = 0;
    const start = this.first;
    let end = start;
    while (end < this.queue.length && (end === start || bytes + this.sizes[end]! <= limit)) {
      bytes += this.sizes[end]!;
      end += 1;
    }
    const text = end - start === 1 ? this.queue[start]! : this.queue.slice(start, end).join('');
    this.first = end;
    this.compact();
    return Buffer.from(text);
  }

  /** Frees the lines before the head once they are many (or `now`): amortized O(1) a line. */
  private compact(now = false): void {
    if (this.first === 0 || (!now && this.first < 1024 && this.first * 2 < this.queue.length)) return;
    this.queue.splice(0, this.first);
    this.sizes.splice(0, this.first);
    this.first = 0;
  }

  /** Rotates before a line that would not fit (a file holds at least one line). */
  private rotateIfFull(): void {
    const r = this.target.rotation;
    if (!r || this.size === 0 || this.queued === 0 || this.size + this.sizes[this.first]! <= r.maxBytes) return;
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
    const again = (ms: number) => {
      this.retry = setTimeout(() => {
        this.retry = null;
        this.pump();
      }, ms);
      this.retry.unref();
    };
    // a full pipe (its reader is behind or restarting): not an error; the backlog makes the sources wait
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return again(PIPE_RETRY_MS);
    this.closeFd();
    if (!this.failing) {
      this.failing = true;
      this.notifyDrain(); // the service must not wait on a disk that does not take writes
    }
    this.onError(`log: ${errorText(err)}`);
    again(IO_RETRY_MS);
  }

  /** Writes what is queued (bounded by `ms`), then closes; lines pushed later are dropped. */
  async close(ms: number): Promise<void> {
    if (this.closed) return;
    if ((this.queued > 0 || this.head || this.busy) && !this.failing) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, ms); // ref'd: svrun must not fall off the event loop while it waits
      });
    }
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    if (!this.busy) this.closeFd();
  }
}

/** The rotated files of `dir`, oldest first (their names sort by time). */
export const rotatedFiles = (dir: string): string[] => readdirSync(dir).filter(isRotatedName).sort();

/**
 * log/current in `dir`, rotated by `rotation`. Nothing is written through a
 * planted symlink: `dir` itself is checked on every open (src/os/safefile.ts),
 * and a symlink, FIFO or device at log/current is moved aside (rename does
 * not follow), reported as an error, and a fresh file is used at the retry.
 */
export const rotatingFile = (dir: string, rotation: Rotation): Target => {
  let real = dir;
  return {
    ownsFd: true,
    rotation,
    open: () => {
      try {
        real = ensureStateDir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code) throw err; // mkdir's own errors name the path
        throw new Error(`${dir}: ${errorText(err)}`);
      }
      const current = join(real, CURRENT);
      try {
        return openAppend(current, LOG_FILE_MODE);
      } catch (err) {
        if (!(err instanceof NotRegularFile)) throw err;
        const aside = `current.${new Date().toISOString()}.not-a-file`;
        renameSync(current, join(real, aside));
        throw new Error(`${current}: ${err.kind}, not a regular file: moved aside to ${aside}`);
      }
    },
    rotate: () => {
      let t = Date.now();
      let name: string;
      // two rotations within one millisecond must not overwrite each other
      for (;;) {
        name = join(real, rotatedName(t));
        try {
          lstatSync(name);
          t += 1;
        } catch {
          break;
        }
      }
      renameSync(join(real, CURRENT), name);
      const old = rotatedFiles(real);
      for (const f of old.slice(0, Math.max(0, old.length - rotation.keep))) {
        try {
          unlinkSync(join(real, f)); // a symlink is removed, not followed; a planted folder stays
        } catch {
          /* gone, or not ours to remove */
        }
      }
    },
  };
};
