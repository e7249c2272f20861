// ensureStateDir (src/os/safefile.ts), the rule for the folders svrun writes
// in (supervise/, log/), on real files: a real folder is used (created when
// missing); a symlinked one only when link and target are svrun's user's and
// the target is writable by that user alone. svrun refusing one, end to end:
// test/supervisor/svrun-writes.proc.test.ts.
import {
  chmodSync,
  chownSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureStateDir } from '../../src/os/safefile.js';

const isRoot = process.geteuid?.() === 0;
const uid = process.geteuid?.() ?? 0;

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'svkit-statedir-'));
  chmodSync(dir, 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A target folder elsewhere (0755, ours) and the link `supervise` to it. */
const linked = (): { target: string; link: string } => {
  const target = join(dir, 'elsewhere');
  mkdirSync(target);
  chmodSync(target, 0o755);
  const link = join(dir, 'svc', 'supervise');
  mkdirSync(join(dir, 'svc'));
  symlinkSync(target, link);
  return { target, link };
};

describe('ensureStateDir', () => {
  it('a real folder is used as it is; a missing one is created', () => {
    mkdirSync(join(dir, 'real'));
    expect(ensureStateDir(join(dir, 'real'))).toBe(join(dir, 'real'));
    expect(ensureStateDir(join(dir, 'missing'))).toBe(join(dir, 'missing'));
    expect(lstatSync(join(dir, 'missing')).isDirectory()).toBe(true);
  });

  it('a symlink to a folder that is ours and writable by us alone is resolved once, to where it points', () => {
    const { target, link } = linked();
    expect(ensureStateDir(link)).toBe(realpathSync(target));
  });

  it('a dangling symlink of ours gets its target folder created (like /run after a reboot)', () => {
    const link = join(dir, 'supervise');
    symlinkSync(join(dir, 'run', 'supervise.web'), link);
    expect(ensureStateDir(link)).toBe(realpathSync(join(dir, 'run', 'supervise.web')));
  });

  it('a file where the folder should be is refused', () => {
    writeFileSync(join(dir, 'supervise'), '');
    expect(() => ensureStateDir(join(dir, 'supervise'))).toThrow(/^a regular file, not a directory$/);
  });

  const refused = (spoil: (target: string, link: string) => void, why: string) => {
    const { target, link } = linked();
    spoil(target, link);
    expect(() => ensureStateDir(link)).toThrow(
      `symlink to ${target} refused: ${why} (a symlinked folder must be owned, link and target, by uid ${uid} and writable by it alone; or set SVKIT_STATE_DIR)`,
    );
  };

  it.each<[string, (target: string) => void, string]>([
    ['a target writable by all', (t) => chmodSync(t, 0o777), 'the target is writable by its group and others'],
    ['a target writable by others', (t) => chmodSync(t, 0o757), 'the target is writable by others'],
    ['a target writable by its group', (t) => chmodSync(t, 0o775), 'the target is writable by its group'],
    [
      'a target that is a file',
      (t) => {
        rmSync(t, { recursive: true });
        writeFileSync(t, '');
      },
      'the target is a regular file',
    ],
  ])('refused: %s, naming why and the way out', (_name, spoil, why) => refused(spoil, why));

  it.skipIf(!isRoot)('refused: a target owned by another user (needs root, to chown)', () =>
    refused((t) => chownSync(t, uid + 1001, uid + 1001), `the target is owned by uid ${uid + 1001}`),
  );

  it.skipIf(!isRoot)('refused: a link made by another user (needs root, to chown)', () =>
    refused((_t, l) => lchownSync(l, uid + 1001, uid + 1001), `the link is owned by uid ${uid + 1001}`),
  );
});
