// The built-in logger (SPEC.md "svrun", Output): LineSplitter turns a byte
// stream into lines, fileSink writes `<ISO time> <stream> <text>` lines to
// log/current and close() flushes them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSink, LineSplitter, MAX_LINE_BYTES } from '../../src/log/builtin.js';
import type { Stream } from '../../src/log/format.js';

/** The lines a splitter emits for `chunks` (then end() unless `end` is false). */
const split = (chunks: (string | Buffer | number[])[], end = true): string[] => {
  const lines: string[] = [];
  const s = new LineSplitter((t) => lines.push(t));
  for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : Buffer.isBuffer(c) ? c : Buffer.from(c));
  if (end) s.end();
  return lines;
};

describe('logger: LineSplitter', () => {
  it.each<[string, (string | number[])[], string[]]>([
    ['one line', ['hello\n'], ['hello']],
    ['several lines in one chunk', ['a\nb\nc\n'], ['a', 'b', 'c']],
    ['a line across chunks', ['hel', 'lo\nwor', 'ld\n'], ['hello', 'world']],
    ['one byte a chunk', [...'ab\ncd\n'].map((c) => c), ['ab', 'cd']],
    ['the newline alone in a chunk', ['abc', '\n'], ['abc']],
    ['chunk starting with the newline', ['abc', '\ndef\n'], ['abc', 'def']],
    ['empty lines are lines', ['\n\n'], ['', '']],
    ['partial last line flushed by end()', ['a\nlast'], ['a', 'last']],
    ['partial across chunks flushed by end()', ['la', 'st'], ['last']],
    ['no output', [], []],
    ['empty chunks', ['', 'x\n', ''], ['x']],
    ['CR is kept (no CRLF translation)', ['a\r\n'], ['a\r']],
    [
      'multi-byte UTF-8 split across chunks',
      [
        [0x63, 0x61, 0x66, 0xc3],
        [0xa9, 0x0a],
      ],
      ['café'],
    ],
    ['4-byte UTF-8 split in three', [[0xf0, 0x9f], [0x98], [0x80, 0x0a]], ['😀']],
    ['invalid UTF-8 becomes U+FFFD', [[0xff, 0xfe, 0x41, 0x0a]], ['\uFFFD\uFFFDA']],
    ['a lone continuation byte', [[0x80, 0x0a]], ['\uFFFD']],
    ['a truncated sequence at end of stream', [[0x61, 0xe2, 0x82]], ['a\uFFFD']],
    ['NUL bytes pass through', [[0x61, 0x00, 0x62, 0x0a]], ['a\u0000b']],
  ])('%s', (_d, chunks, lines) => {
    expect(split(chunks)).toEqual(lines);
  });

  it('without end() a partial line is held, not emitted', () => {
    expect(split(['a\npartial'], false)).toEqual(['a']);
  });

  it('end() twice emits nothing more; a complete last line is not repeated', () => {
    const lines: string[] = [];
    const s = new LineSplitter((t) => lines.push(t));
    s.push(Buffer.from('x\n'));
    s.end();
    s.end();
    expect(lines).toEqual(['x']);
  });

  it('random bytes in random chunks never throw, and ASCII content is kept in order', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const bytes = Buffer.from(
      Array.from({ length: 20000 }, () => (rnd() < 0.05 ? 10 : rnd() < 0.2 ? Math.floor(rnd() * 256) : 97 + Math.floor(rnd() * 26))),
    );
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; ) {
      const len = 1 + Math.floor(rnd() * 300);
      chunks.push(bytes.subarray(i, i + len));
      i += len;
    }
    const lines = split(chunks);
    const expected = bytes.toString('utf8').split('\n');
    if (expected.at(-1) === '') expected.pop();
    expect(lines).toEqual(expected);
  });

  describe(`lines longer than MAX_LINE_BYTES (${MAX_LINE_BYTES})`, () => {
    const a = (n: number) => Buffer.alloc(n, 0x61);
    const lengths = (chunks: Buffer[], end = true) => split(chunks, end).map((l) => l.length);

    it.each<[string, Buffer[], number[]]>([
      ['exactly MAX bytes and a newline: one line', [Buffer.concat([a(MAX_LINE_BYTES), Buffer.from('\n')])], [MAX_LINE_BYTES]],
      ['exactly MAX bytes then end(): one line', [a(MAX_LINE_BYTES)], [MAX_LINE_BYTES]],
      ['MAX + 1 bytes without newline: split at the limit', [a(MAX_LINE_BYTES + 1)], [MAX_LINE_BYTES, 1]],
      ['2 MAX + 10 bytes in one chunk', [a(2 * MAX_LINE_BYTES + 10)], [MAX_LINE_BYTES, MAX_LINE_BYTES, 10]],
      ['4 chunks of 40 KiB', [a(40960), a(40960), a(40960), a(40960)], [MAX_LINE_BYTES, MAX_LINE_BYTES, 32768]],
      ['a long partial line, then a short one', [a(MAX_LINE_BYTES + 5), Buffer.from('b\nnext\n')], [MAX_LINE_BYTES, 6, 4]],
    ])('%s', (_d, chunks, expected) => {
      expect(lengths(chunks)).toEqual(expected);
    });

    it('a partial line is never held past the limit: the pieces come out before end()', () => {
      // at most MAX_LINE_BYTES stay pending (a line of exactly MAX may still end whole)
      expect(lengths([a(3 * MAX_LINE_BYTES + 1)], false)).toEqual([MAX_LINE_BYTES, MAX_LINE_BYTES, MAX_LINE_BYTES]);
      expect(lengths([a(3 * MAX_LINE_BYTES)], false)).toEqual([MAX_LINE_BYTES, MAX_LINE_BYTES]);
    });

    it('split pieces keep every byte in order', () => {
      const text = Buffer.from(Array.from({ length: 3 * MAX_LINE_BYTES + 123 }, (_, i) => 0x41 + (i % 26)));
      const lines = split([text.subarray(0, 1000), text.subarray(1000)]);
      expect(lines.join('')).toBe(text.toString('latin1'));
    });

    // NOT MARKED .fails: SPEC.md says nothing about a maximum line length, so this
    // is reported, not asserted (see the report). MAX_LINE_BYTES's own comment says
    // "Longest line kept whole; longer output is split", but push() only splits
    // what is still pending after the chunk's last newline: a long line whose
    // newline arrives in the same push() comes out whole.
    it.each<[string, Buffer[]]>([
      ['MAX + 10 bytes and a newline in one chunk', [Buffer.concat([a(MAX_LINE_BYTES + 10), Buffer.from('\n')])]],
      ['60000 bytes, then 60000 bytes and a newline', [a(60000), Buffer.concat([a(60000), Buffer.from('\n')])]],
    ])('no line longer than MAX_LINE_BYTES: %s', (_d, chunks) => {
      for (const n of lengths(chunks)) expect(n).toBeLessThanOrEqual(MAX_LINE_BYTES);
    });
  });
});

describe('logger: fileSink', () => {
  let root: string;
  let n = 0;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'svkit-logger-'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });
  const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (out|err|svrun) (.*)$/;
  const read = (logDir: string) => readFileSync(join(logDir, 'current'), 'utf8');

  it('writes `<ISO time> <stream> <text>` lines to log/current (created), in order, and close() flushes them', async () => {
    const logDir = join(root, String(n++), 'log');
    const errors: string[] = [];
    const before = Date.now();
    const sink = fileSink(logDir, (e) => errors.push(e));
    const lines: [Stream, string][] = [
      ['svrun', 'started pid 42'],
      ['svrun', 'ready'],
      ['out', 'hello world'],
      ['err', 'warning: disk 91% full'],
      ['out', ''],
      ['out', '  indented\ttab'],
      ['out', 'ünïcödé ✓ 😀'],
      ['svrun', 'exited 1'],
      ['svrun', 'restarting in 0 ms'],
    ];
    for (const [stream, text] of lines) sink.line(stream, text);
    await sink.close();
    const after = Date.now();
    const text = read(logDir);
    expect(text.endsWith('\n')).toBe(true);
    const got = text.slice(0, -1).split('\n');
    expect(got).toHaveLength(lines.length);
    got.forEach((l, i) => {
      const m = LINE.exec(l);
      expect(m, l).not.toBeNull();
      const t = Date.parse(m![1]!);
      expect(new Date(t).toISOString()).toBe(m![1]);
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
      expect([m![2], m![3]]).toEqual(lines[i]);
    });
    expect(errors).toEqual([]);
  });

  it.each<[number]>([[1], [100], [5000]])('close() flushes all of %i lines', async (count) => {
    const logDir = join(root, String(n++), 'log');
    const sink = fileSink(logDir, () => {});
    for (let i = 0; i < count; i++) sink.line(i % 2 ? 'out' : 'err', `line ${i}`);
    await sink.close();
    const got = read(logDir).split('\n').filter(Boolean);
    expect(got).toHaveLength(count);
    expect(got.map((l) => LINE.exec(l)![3])).toEqual(Array.from({ length: count }, (_, i) => `line ${i}`));
  });

  it('lines written while earlier ones are in flight all arrive, in order', async () => {
    const logDir = join(root, String(n++), 'log');
    const sink = fileSink(logDir, () => {});
    sink.line('out', 'first');
    await Promise.resolve();
    for (let i = 0; i < 50; i++) sink.line('out', `more ${i}`);
    await new Promise((r) => setImmediate(r));
    sink.line('svrun', 'last');
    await sink.close();
    const texts = read(logDir)
      .split('\n')
      .filter(Boolean)
      .map((l) => LINE.exec(l)![3]);
    expect(texts).toEqual(['first', ...Array.from({ length: 50 }, (_, i) => `more ${i}`), 'last']);
  });

  it('appends to an existing log/current', async () => {
    const logDir = join(root, String(n++), 'log');
    const a = fileSink(logDir, () => {});
    a.line('out', 'one');
    await a.close();
    const b = fileSink(logDir, () => {});
    b.line('out', 'two');
    await b.close();
    expect(
      read(logDir)
        .split('\n')
        .filter(Boolean)
        .map((l) => LINE.exec(l)![3]),
    ).toEqual(['one', 'two']);
  });

  it('close() with nothing written resolves', async () => {
    const sink = fileSink(join(root, String(n++), 'log'), () => {});
    await expect(sink.close()).resolves.toBeUndefined();
  });

  it('a log that cannot be written: onError once per attempt, and close() does not hang', async () => {
    const blocker = join(root, `file${n++}`);
    writeFileSync(blocker, 'not a folder');
    const errors: string[] = [];
    const sink = fileSink(join(blocker, 'log'), (e) => errors.push(e));
    sink.line('out', 'lost');
    sink.line('out', 'lost too');
    const t = Date.now();
    await sink.close(5000);
    expect(Date.now() - t).toBeLessThan(5000); // never waits out the deadline it was given (how fast: bench)
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^log: ENOTDIR/);
  });
});
