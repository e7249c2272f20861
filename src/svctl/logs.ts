// `svctl logs NAME [-n N] [-f]`: the end of the built-in log (log/current),
// read backwards from the end so a large log costs only what is printed;
// -f then follows the file, and starts over when it is replaced or truncated
// (rotation renames current away and begins a new one).
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { EXIT_FAILED, EXIT_OK } from '../defaults.js';
import { servicePaths } from '../paths.js';
import { Changes } from './watch.js';

const CHUNK = 64 * 1024;

/** The last `n` lines of `file` ([] when it is missing). */
export const tailLines = (file: string, n: number, upTo?: number): string[] => {
  if (n <= 0) return [];
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = upTo ?? statSync(file).size;
    const parts: Buffer[] = [];
    let pos = size;
    let newlines = 0;
    // n lines need n+1 newlines before them when the file ends with one
    while (pos > 0 && newlines <= n) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, pos);
      parts.unshift(buf);
      for (const b of buf) if (b === 10) newlines++;
    }
    const lines = Buffer.concat(parts).toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (pos > 0) lines.shift(); // the first one is cut
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
};

/** `2026-...Z svrun exited 3` -> `svrun exited 3`. */
export const withoutTime = (line: string): string => line.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, '');

export const logFile = (dir: string, name: string): string => join(servicePaths(dir, name).logDir, 'current');

export interface LogsOptions {
  lines: number;
  follow: boolean;
  out: (text: string) => void;
  err: (line: string) => void;
}

export const printLogs = async (dir: string, name: string, o: LogsOptions): Promise<number> => {
  const file = logFile(dir, name);
  let ino = -1;
  let pos = 0;
  try {
    const st = statSync(file);
    ino = st.ino;
    pos = st.size;
  } catch {
    if (!o.follow) {
      o.err(`${name}: no log yet (${file})`);
      return EXIT_FAILED;
    }
  }
  for (const line of tailLines(file, o.lines, pos)) o.out(`${line}\n`);
  if (!o.follow) return EXIT_OK;
  const changes = new Changes([join(file, '..')]);
  let decoder = new StringDecoder('utf8');
  for (;;) {
    await changes.next(Date.now() + 250);
    let st;
    try {
      st = statSync(file);
    } catch {
      continue;
    }
    if (st.ino !== ino || st.size < pos) {
      ino = st.ino;
      pos = 0;
      decoder = new StringDecoder('utf8');
    }
    while (pos < st.size) {
      const fd = openSync(file, 'r');
      try {
        const buf = Buffer.alloc(Math.min(CHUNK, st.size - pos));
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n === 0) break;
        pos += n;
        o.out(decoder.write(buf.subarray(0, n)));
      } finally {
        closeSync(fd);
      }
    }
  }
};
