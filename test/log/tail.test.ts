// The log reader (src/log/tail.ts) on files, no processes: the last N lines
// across rotated files, and following across rotations (no line lost or
// repeated, even several rotations between two reads). Through the real
// svctl logs: test/svctl/commands/logs.proc.test.ts.
import { appendFileSync, closeSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linesBefore, LogTail } from '../../src/log/tail.js';

const t = (ms: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, 0, ms)).toISOString();

describe('LogTail on files (no processes)', () => {
  let dir: string;
  let rotations = 0;
  const cur = () => join(dir, 'current');
  const line = (i: number) => `${t(i)} out n ${i}`;
  const write = (from: number, to: number) => {
    let s = '';
    for (let i = from; i <= to; i++) s += `${line(i)}\n`;
    appendFileSync(cur(), s);
  };
  /** As svrun rotates: current renamed to the next @ name (names sort by time), a new current begun, the oldest pruned past `keep`. */
  const rotate = (keep = 100) => {
    rotations += 1;
    renameSync(cur(), join(dir, `@${t(100_000 + rotations)}.s`));
    writeFileSync(cur(), '');
    const old = readdirSync(dir)
      .filter((f) => f.startsWith('@'))
      .sort();
    for (const f of old.slice(0, Math.max(0, old.length - keep))) unlinkSync(join(dir, f));
  };
  const nums = (lines: string[]) => lines.map((l) => Number(/ n (\d+)$/.exec(l)?.[1] ?? NaN));
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'svkit-logtail-'));
    rotations = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('linesBefore: the last n lines, reading backwards, with or without a final newline', () => {
    const body = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}`).join('\n');
    writeFileSync(cur(), `${body}\n`);
    const fd = openSync(cur(), 'r');
    expect(linesBefore(fd, Buffer.byteLength(body) + 1, 3)).toEqual(body.split('\n').slice(-3));
    expect(linesBefore(fd, Buffer.byteLength(body), 2)).toEqual(body.split('\n').slice(-2));
    expect(linesBefore(fd, Buffer.byteLength(body) + 1, 100_000)).toEqual(body.split('\n'));
    expect(linesBefore(fd, Buffer.byteLength(body) + 1, 0)).toEqual([]);
    closeSync(fd);
  });

  it('start(n): reads back into the rotated files, newest first, only as far as needed', () => {
    write(1, 10);
    rotate();
    write(11, 20);
    rotate();
    write(21, 25);
    const tail = new LogTail(dir);
    expect(nums(tail.start(12))).toEqual(range(14, 25));
    tail.close();
    const all = new LogTail(dir);
    expect(nums(all.start(1000))).toEqual(range(1, 25));
    all.close();
    const none = new LogTail(join(dir, 'missing'));
    expect(none.start(10)).toEqual([]);
    expect(none.found).toBe(false);
  });

  it('read(): appended lines, an unfinished line only once finished, several rotations between two reads', () => {
    write(1, 5);
    const tail = new LogTail(dir);
    expect(nums(tail.start(2))).toEqual([4, 5]);
    expect(tail.read()).toEqual([]);
    write(6, 8);
    appendFileSync(cur(), `${line(9).slice(0, 10)}`);
    expect(nums(tail.read())).toEqual([6, 7, 8]);
    appendFileSync(cur(), `${line(9).slice(10)}\n`);
    write(10, 12);
    rotate();
    write(13, 20);
    rotate();
    write(21, 30);
    rotate();
    write(31, 33);
    expect(nums(tail.read())).toEqual(range(9, 33));
    rotate();
    rotate(); // an empty file in between
    write(34, 35);
    expect(nums(tail.read())).toEqual([34, 35]);
    expect(tail.read()).toEqual([]);
    tail.close();
  });

  it('read(): the held file is finished even after it was pruned (keep 0), and a truncated current starts over', () => {
    write(1, 3);
    const tail = new LogTail(dir);
    tail.start(0);
    write(4, 6);
    rotate(0);
    write(7, 8);
    expect(nums(tail.read())).toEqual(range(4, 8));
    writeFileSync(cur(), `${line(9)}\n`); // truncated in place, then written again
    expect(nums(tail.read())).toEqual([9]);
    tail.close();
  });

  it('read(): a log that does not exist yet is followed from its first line, rotated files first', () => {
    const tail = new LogTail(dir);
    expect(tail.start(10)).toEqual([]);
    write(1, 4);
    rotate();
    write(5, 6);
    expect(nums(tail.read())).toEqual(range(1, 6));
    tail.close();
  });

  it('start() then read(): the rotated files older than current are never printed again', () => {
    write(1, 4);
    rotate();
    write(5, 8);
    const tail = new LogTail(dir);
    expect(nums(tail.start(6))).toEqual(range(3, 8));
    rotate();
    write(9, 9);
    expect(nums(tail.read())).toEqual([9]);
    tail.close();
  });
});
