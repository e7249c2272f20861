// src/os/fifo.ts's writer, on real files: a letter goes into a FIFO that a
// reader holds, and never through a planted symlink or into a file that
// stands where a FIFO should be (the folder is untrusted).
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureFifo, openWriter, writeFifo } from '../../src/os/fifo.js';
import { fifoHasReader } from '../../src/svctl/engine/observe.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'svkit-fifo-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFifo', () => {
  it('writes into a FIFO that has a reader; no reader, or nothing there: no-reader', () => {
    const fifo = join(dir, 'control');
    expect(writeFifo(fifo, 'x')).toBe('no-reader');
    ensureFifo(fifo);
    expect(writeFifo(fifo, 'x')).toBe('no-reader');
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      expect(fifoHasReader(fifo)).toBe(true);
      expect(writeFifo(fifo, 'du')).toBe('written');
      const buf = Buffer.alloc(8);
      expect(buf.toString('latin1', 0, readSync(reader, buf))).toBe('du');
    } finally {
      closeSync(reader);
    }
  });

  it('a planted symlink is not followed: its target is left as it was', () => {
    const target = join(dir, 'precious');
    writeFileSync(target, 'hello\n');
    symlinkSync(target, join(dir, 'control'));
    expect(writeFifo(join(dir, 'control'), 'x')).toBe('not-a-fifo');
    expect(fifoHasReader(join(dir, 'control'))).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe('hello\n');
  });

  it('a regular file where the FIFO should be is not written to', () => {
    const file = join(dir, 'control');
    writeFileSync(file, 'hello\n');
    expect(writeFifo(file, 'x')).toBe('not-a-fifo');
    expect(openWriter(file)).toBeNull();
    expect(fifoHasReader(file)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('hello\n');
  });

  it('a folder where the FIFO should be is neither opened nor an error: not-a-fifo', () => {
    const folder = join(dir, 'control');
    mkdirSync(folder);
    expect(writeFifo(folder, 'x')).toBe('not-a-fifo');
    expect(openWriter(folder)).toBeNull();
    expect(fifoHasReader(folder)).toBe(false);
  });
});
