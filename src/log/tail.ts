// Reading a built-in log folder (log/current and the rotated @<ISO time>.s
// files) the way `svctl logs` needs it: the last N lines, read backwards from
// the end and on into the rotated files, newest first; then every line
// appended since, across any number of rotations, none lost or repeated.
//
// The reader holds the file it reads open. svrun's writer closes current
// before it renames it, so once current names another inode, the held file is
// complete: it is read to its end (even if it was already pruned), then every
// rotated file newer than it (name order; names sort by time), then the new
// current from its start. Rotated files are told apart by inode, and "newer"
// is decided against `floor`, the newest rotated name known to be older than
// the held file, taken from a listing made after that file was opened.
//
// The log folder is the service's, so untrusted: every file is opened through
// openRegular (non-blocking, regular files only), a FIFO or device at
// `current` is reported (`problem`), never waited on, and only the tail that is
// printed is read.
import { closeSync, fstatSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { servicePaths } from '../supervise/paths.js';
import { MAX_LINE_BYTES } from './builtin.js';
import { CURRENT, isRotatedName } from './format.js';
import { openRegular } from '../settingsfile.js';

const CHUNK = 64 * 1024;
const NL = 0x0a;
const EMPTY = Buffer.alloc(0);
/** Tries to get a consistent view while the log rotates under us (only a tiny `keep` and a flood need more than one). */
const TRIES = 10;
/**
 * The longest line svrun writes (its logger cuts longer output, plus the
 * time and stream prefix): a longer "line" was not written by svrun, and is
 * cut here rather than read whole (a 16 GB file without a newline costs what
 * is printed, not 16 GB).
 */
export const MAX_LOG_LINE = MAX_LINE_BYTES + 256;

export interface Rotated {
  name: string;
  ino: number;
}

/** The rotated files of a log folder with their inodes, in name (time) order; [] when the folder is missing. */
export const listRotated = (dir: string): Rotated[] => {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Rotated[] = [];
  for (const name of names.filter(isRotatedName).sort()) {
    try {
      out.push({ name, ino: statSync(join(dir, name)).ino });
    } catch {
      /* pruned meanwhile */
    }
  }
  return out;
};

/**
 * The last `n` lines of the bytes [0, end) of `fd`, oldest first, reading
 * backwards in chunks (a large file costs only what is returned). A last line
 * without a newline counts as a line; pass an `end` just after a newline to
 * leave out an unfinished one.
 */
export const linesBefore = (fd: number, end: number, n: number): string[] => {
  if (n <= 0 || end <= 0) return [];
  const parts: Buffer[] = [];
  let pos = end;
  let newlines = 0;
  // n lines of svrun's are at most this long: beyond, the file was not written by svrun
  const limit = Math.max(0, end - n * MAX_LOG_LINE);
  // n lines are complete once the newline before the first of them is read
  while (pos > limit) {
    const len = Math.min(CHUNK, pos - limit);
    pos -= len;
    const buf = Buffer.allocUnsafe(len);
    readFully(fd, buf, pos);
    parts.unshift(buf);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] === NL && pos + i !== end - 1) newlines++; // not the newline that ends the last line
    }
    if (newlines >= n) break;
  }
  const lines = Buffer.concat(parts).toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (pos > 0) lines.shift(); // cut: it began before what was read
  return lines.slice(-n);
};

/**
 * The offset just after the last newline in [0, size) of `fd` (0 when none):
 * where the complete lines end. Only the last MAX_LOG_LINE bytes are looked
 * at: a longer unfinished line is taken as complete (`size`).
 */
export const completeEnd = (fd: number, size: number): number => {
  let pos = size;
  const limit = Math.max(0, size - MAX_LOG_LINE);
  while (pos > limit) {
    const len = Math.min(CHUNK, pos - limit);
    const buf = Buffer.allocUnsafe(len);
    readFully(fd, buf, pos - len);
    const i = buf.lastIndexOf(NL);
    if (i >= 0) return pos - len + i + 1;
    pos -= len;
  }
  return limit > 0 ? size : 0;
};

const readFully = (fd: number, buf: Buffer, pos: number): void => {
  let off = 0;
  while (off < buf.length) {
    const got = readSync(fd, buf, off, buf.length - off, pos + off);
    if (got === 0) {
      buf.fill(0x20, off); // the file shrank under us (truncated): blanks, never stale memory
      return;
    }
    off += got;
  }
};

/** The open regular file, or null (missing, or not a regular file: then `onInvalid` hears why). */
const tryOpen = (path: string, onInvalid: (reason: string) => void = () => {}): number | null => {
  const r = openRegular(path);
  if (r.kind === 'invalid') onInvalid(r.reason);
  return r.kind === 'ok' ? r.fd : null;
};

const tryClose = (fd: number | null): void => {
  if (fd === null) return;
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
};

/** current, open, and the rotated files older than it (a listing made after the open). */
interface Opened {
  fd: number;
  ino: number;
  older: Rotated[];
}

/** Follows one log folder: `start(n)` once, then `read()` at every wake-up. */
export class LogTail {
  private fd: number | null = null;
  private ino = -1;
  /** Bytes of the held file already read. */
  private offset = 0;
  /** The unfinished last line read so far (no newline yet). */
  private partial: Buffer = EMPTY;
  /** The newest rotated file known to be older than the held one ('' none): anything named after it is newer. */
  private floor = '';
  /** Whether start() found any log at all (current or a rotated file). */
  found = false;
  /** Why `current` cannot be read (a FIFO, a device, a folder), as start() last saw it; null when it can or is missing. */
  problem: string | null = null;

  constructor(readonly dir: string) {}

  private get current(): string {
    return join(this.dir, CURRENT);
  }

  /**
   * Opens the log as it is now and returns its last `n` complete lines,
   * reading back into the rotated files (newest first) when current holds
   * fewer. `read()` continues from there.
   */
  start(n: number): string[] {
    const opened = this.openCurrent();
    let older: Rotated[];
    let lines: string[] = [];
    if (opened) {
      ({ fd: this.fd, ino: this.ino, older } = opened);
      this.offset = completeEnd(opened.fd, fstatSync(opened.fd).size);
      lines = linesBefore(opened.fd, this.offset, n);
    } else older = listRotated(this.dir);
    this.found = opened !== null || older.length > 0;
    this.floor = older.at(-1)?.name ?? '';
    for (let i = older.length - 1; i >= 0 && lines.length < n; i--) {
      const fd = tryOpen(join(this.dir, older[i]!.name));
      if (fd === null) break; // pruned: the older ones are gone too
      try {
        lines = [...linesBefore(fd, fstatSync(fd).size, n - lines.length), ...lines];
      } finally {
        tryClose(fd);
      }
    }
    return lines;
  }

  /** The complete lines written since the last call (or start()), across rotations, in order. */
  read(): string[] {
    const out: string[] = [];
    for (let i = 0; i < 1000; i++) {
      if (this.fd !== null) this.drain(out);
      let cur: number;
      try {
        cur = statSync(this.current).ino;
      } catch {
        return out; // no current (not yet, or between svrun's rename and its open): the next wake-up
      }
      if (this.fd !== null && cur === this.ino) return out;
      // the held file was renamed away (its writer closed it first), or there was none
      const next = this.openCurrent();
      if (!next) return out;
      let lower = this.floor;
      if (this.fd !== null) {
        this.drain(out);
        this.flushPartial(out);
        // the held file's own name, when it is still there, bounds what is newer more tightly
        for (const r of next.older) if (r.ino === this.ino) lower = r.name;
      }
      for (const r of next.older) {
        if (r.name > lower && r.ino !== this.ino) this.readWhole(r.name, out);
      }
      tryClose(this.fd);
      this.fd = next.fd;
      this.ino = next.ino;
      this.offset = 0;
      this.partial = EMPTY;
      const newest = next.older.at(-1)?.name ?? '';
      if (newest > this.floor) this.floor = newest;
    }
    return out;
  }

  close(): void {
    tryClose(this.fd);
    this.fd = null;
  }

  /**
   * Opens current and lists the rotated files older than it. The listing
   * comes after the open, so every file rotated before the open is in it;
   * one rotated after it is newer and is cut off by the opened file's own
   * inode — unless it was pruned already (no links left), then try again.
   */
  private openCurrent(): Opened | null {
    for (let t = 0; ; t++) {
      this.problem = null;
      const fd = tryOpen(this.current, (reason) => (this.problem = reason));
      if (fd === null) return null;
      const st = fstatSync(fd);
      const rotated = listRotated(this.dir);
      const at = rotated.findIndex((r) => r.ino === st.ino);
      if (at < 0 && st.nlink === 0 && t < TRIES) {
        tryClose(fd);
        continue;
      }
      return { fd, ino: st.ino, older: at >= 0 ? rotated.slice(0, at) : rotated };
    }
  }

  /** Reads the held file from `offset` to its present end. */
  private drain(out: string[]): void {
    const fd = this.fd!;
    const size = fstatSync(fd).size;
    if (size < this.offset) {
      // truncated in place (`: > current`): start over
      this.offset = 0;
      this.partial = EMPTY;
    }
    while (this.offset < size) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - this.offset));
      const got = readSync(fd, buf, 0, buf.length, this.offset);
      if (got === 0) break;
      this.offset += got;
      this.take(buf.subarray(0, got), out);
    }
  }

  private take(buf: Buffer, out: string[]): void {
    const data = this.partial.length > 0 ? Buffer.concat([this.partial, buf]) : buf;
    const end = data.lastIndexOf(NL);
    if (end < 0) {
      this.partial = Buffer.from(data);
      this.cutPartial(out);
      return;
    }
    for (const line of data.subarray(0, end).toString('utf8').split('\n')) out.push(line);
    this.partial = Buffer.from(data.subarray(end + 1));
    this.cutPartial(out);
  }

  /** An unfinished line longer than svrun ever writes is printed as it is, not held on to (bounded memory). */
  private cutPartial(out: string[]): void {
    if (this.partial.length > MAX_LOG_LINE) this.flushPartial(out);
  }

  /** A finished file's last line, should it lack its newline. */
  private flushPartial(out: string[]): void {
    if (this.partial.length > 0) out.push(this.partial.toString('utf8'));
    this.partial = EMPTY;
  }

  /** A rotated file, all of it (gone already: pruned, nothing to read). */
  private readWhole(name: string, out: string[]): void {
    const fd = tryOpen(join(this.dir, name));
    if (fd === null) return;
    try {
      let pos = 0;
      let rest: Buffer = EMPTY;
      for (;;) {
        const buf = Buffer.allocUnsafe(CHUNK);
        const got = readSync(fd, buf, 0, CHUNK, pos);
        if (got === 0) break;
        pos += got;
        const data = rest.length > 0 ? Buffer.concat([rest, buf.subarray(0, got)]) : buf.subarray(0, got);
        const end = data.lastIndexOf(NL);
        if (end < 0) {
          rest = Buffer.from(data);
        } else {
          for (const line of data.subarray(0, end).toString('utf8').split('\n')) out.push(line);
          rest = Buffer.from(data.subarray(end + 1));
        }
        if (rest.length > MAX_LOG_LINE) {
          out.push(rest.toString('utf8')); // a line svrun never writes: cut, not held
          rest = EMPTY;
        }
      }
      if (rest.length > 0) out.push(rest.toString('utf8'));
    } finally {
      tryClose(fd);
    }
  }
}

/**
 * The last `n` lines of `file`, up to byte `upTo`, read backwards ([] when
 * it is missing or not a regular file: a FIFO there never blocks).
 * log/current only: see LogTail for the rotated files.
 */
export const tailLines = (file: string, n: number, upTo?: number): string[] => {
  const r = openRegular(file);
  if (r.kind !== 'ok') return [];
  try {
    return linesBefore(r.fd, Math.min(upTo ?? r.stats.size, r.stats.size), n);
  } finally {
    closeSync(r.fd);
  }
};

export const logFile = (dir: string, name: string): string => join(servicePaths(dir, name).logDir, CURRENT);
