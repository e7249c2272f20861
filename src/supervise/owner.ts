// The one owner record: `PID START\n`, a process named unambiguously by its
// pid and its start time (field 22 of /proc/PID/stat; `-` when unknown).
// svrun's lock names its holder in `supervise/lock/owner`, the task reaper
// itself in `supervise/reaper`, svctl the scan lock's holder in
// `.svctl.lock.owner`. Each is a hint, never a reason to signal a process:
// a reader checks /proc before believing it.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { procStartTime } from '../os/proc.js';
import { type OnAside, replaceFile } from '../os/safefile.js';

export interface Owner {
  pid: number;
  /** Clock ticks since boot; null when /proc could not tell. */
  pidStart: number | null;
}

/** A record is a few bytes: anything longer is not one. */
const MAX_BYTES = 64;

export const ownerText = (o: Owner): string => `${o.pid} ${o.pidStart ?? '-'}\n`;

/** The owner a record names, or null when the text is not one. */
export const parseOwner = (text: string): Owner | null => {
  const m = /^(\d{1,10}) (\d{1,20}|-)\n$/.exec(text);
  if (!m) return null;
  const pid = Number(m[1]);
  return pid > 0 ? { pid, pidStart: m[2] === '-' ? null : Number(m[2]) } : null;
};

/** This process, as a record names it. */
export const self = (): Owner => ({ pid: process.pid, pidStart: procStartTime(process.pid) });

export const sameOwner = (a: Owner | null, b: Owner | null): boolean =>
  a !== null && b !== null && a.pid === b.pid && a.pidStart === b.pidStart;

/**
 * The record at `file`, or null when it is missing, not a regular file, or
 * not a record. Never follows a final symlink, never blocks on a planted
 * FIFO, never reads more than a record's size.
 */
export const readOwner = (file: string): Owner | null => {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return null;
  }
  try {
    if (!fstatSync(fd).isFile()) return null;
    const buf = Buffer.alloc(MAX_BYTES);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return parseOwner(buf.subarray(0, n).toString('latin1'));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
};

/** Replaces the record at `file` atomically, never through a planted symlink, a folder there moved aside (0644: anyone may read who holds it). */
export const writeOwner = (file: string, o: Owner, onAside?: OnAside): void => {
  replaceFile(file, ownerText(o), 0o644, onAside);
};
