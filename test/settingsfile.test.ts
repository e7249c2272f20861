// readSettingsFile / openRegular on real files: only a regular file (or a
// symlink to one) is read, at most the bound; a FIFO or device is never
// opened, so none of these can block (each case would hang the old reader).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFifo } from '../src/os/fifo.js';
import { readSettingsFile, SETTINGS_MAX_BYTES } from '../src/settingsfile.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'svkit-settingsfile-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
const at = (name: string) => join(root, name);

describe('readSettingsFile', () => {
  it('reads a regular file and a symlink to one', () => {
    writeFileSync(at('plain'), 'longrun\n');
    symlinkSync(at('plain'), at('link'));
    expect(readSettingsFile(at('plain'))).toEqual({ kind: 'ok', text: 'longrun\n' });
    expect(readSettingsFile(at('link'))).toEqual({ kind: 'ok', text: 'longrun\n' });
  });

  it('missing: no file, or a symlink to nothing', () => {
    symlinkSync(at('nothing'), at('dangling'));
    expect(readSettingsFile(at('absent'))).toEqual({ kind: 'missing' });
    expect(readSettingsFile(at('dangling'))).toEqual({ kind: 'missing' });
  });

  it('exactly the bound is read; one byte more is invalid', () => {
    writeFileSync(at('at-bound'), Buffer.alloc(SETTINGS_MAX_BYTES, 'a'));
    writeFileSync(at('past-bound'), Buffer.alloc(SETTINGS_MAX_BYTES + 1, 'a'));
    const r = readSettingsFile(at('at-bound'));
    expect(r.kind === 'ok' && r.text.length).toBe(SETTINGS_MAX_BYTES);
    expect(readSettingsFile(at('past-bound'))).toEqual({ kind: 'invalid', reason: 'larger than 65536 bytes' });
    expect(readSettingsFile(at('at-bound'), 100)).toEqual({ kind: 'invalid', reason: 'larger than 100 bytes' });
  });

  it('a FIFO, a device, a folder, a loop are invalid, at once', () => {
    ensureFifo(at('fifo')); // mkfifo(3)
    symlinkSync('/dev/zero', at('zero'));
    mkdirSync(at('folder'));
    symlinkSync(at('loop'), at('loop'));
    expect(readSettingsFile(at('fifo'))).toEqual({ kind: 'invalid', reason: 'not a regular file (a FIFO)' });
    expect(readSettingsFile(at('zero'))).toEqual({ kind: 'invalid', reason: 'not a regular file (a character device)' });
    expect(readSettingsFile('/dev/null')).toEqual({ kind: 'invalid', reason: 'not a regular file (a character device)' });
    expect(readSettingsFile(at('folder'))).toEqual({ kind: 'invalid', reason: 'not a regular file (a directory)' });
    expect(readSettingsFile(at('loop'))).toEqual({ kind: 'invalid', reason: 'too many levels of symbolic links' });
  });

  it('a path through a file is not readable (ENOTDIR), not missing', () => {
    writeFileSync(at('log'), 'x');
    expect(readSettingsFile(join(at('log'), 'config'))).toEqual({ kind: 'invalid', reason: 'not readable (ENOTDIR)' });
  });
});
