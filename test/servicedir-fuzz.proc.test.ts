// Property-based fuzz of the service-folder parser (fast-check): any bytes as
// the contents of any of the known files, any file type (regular, FIFO,
// folder, symlink to /dev/zero or to nothing, not executable), sizes up to
// past the 64 KiB bound, any folder name. readService runs in a child
// process under a deadline (test/boundedread.ts): it never hangs, never
// throws, and every error is one line of printable text that names the
// folder and the file, each line once, a bounded number of them.
// SVKIT_FUZZ_RUNS=5000 runs more cases (default 150, a few seconds).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printable } from '../src/errors.js';
import { BoundedReader } from './boundedread.js';

const RUNS = Number(process.env.SVKIT_FUZZ_RUNS) || 150;
/** One readService call: real cases take a few ms, the deadline catches a blocking open. */
const DEADLINE_MS = 3000;

const SETTINGS = [
  'type',
  'requires',
  'down',
  'timeout-kill',
  'timeout-ready',
  'timeout-finish',
  'down-signal',
  'restart',
  'user',
  'notification-fd',
  'log/config',
];
const EXECUTABLES = ['run', 'finish', 'check', 'stop', 'log/run'];
/** Folders that may instead be files of any kind themselves. */
const FOLDERS = ['env', 'log'];

type Kind = 'regular' | 'executable' | 'fifo' | 'directory' | 'dev-zero' | 'dangling';
interface Entry {
  file: string;
  kind: Kind;
  bytes: Uint8Array;
  /** Repeat `bytes` up to this size (null: as they are): around and past the 64 KiB bound. */
  size: number | null;
}

const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

const envName = fc.oneof(
  fc.constantFrom('FOO', 'PATH', '_X1', 'A\nB', '1X', '\x1b[2J', 'a b', 'é'),
  fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..'),
);
const fileName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SETTINGS, ...EXECUTABLES, ...FOLDERS) },
  { weight: 1, arbitrary: envName.map((n) => `env/${n}`) },
);
const bytes = fc.oneof(
  fc
    .constantFrom(
      'longrun\n',
      'oneshot',
      '300\n',
      '2147483648',
      'TERM',
      'SIGKILL',
      'web\n#c\n\nweb@*\n',
      '0:0',
      '4294967295',
      '3\n',
      'size 4096\nkeep 2\n',
      '',
    )
    .map((s) => new Uint8Array(Buffer.from(s))),
  fc.string({ maxLength: 40 }).map((s) => new Uint8Array(Buffer.from(s))),
  fc.uint8Array({ maxLength: 64 }),
);
const entry: fc.Arbitrary<Entry> = fc.record({
  file: fileName,
  kind: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom<Kind>('regular', 'executable') },
    { weight: 1, arbitrary: fc.constantFrom<Kind>('fifo', 'directory', 'dev-zero', 'dangling') },
  ),
  bytes,
  size: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 60 * 1024, max: 70 * 1024 }) }),
});
const folderName = fc.oneof(
  { weight: 8, arbitrary: fc.constant('web') },
  { weight: 1, arbitrary: fc.constantFrom('worker@', 'worker@3', 'a\nb', '\x1b[31mx', '-x', 'x y') },
);

let root: string;
let n = 0;
const reader = new BoundedReader();
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'svkit-fuzz-'));
});
afterAll(() => {
  reader.kill();
  rmSync(root, { recursive: true, force: true });
});

/** Builds the folder; an entry that cannot be made (`log/run` under a `log` that is a FIFO) is left out. */
const build = (name: string, entries: readonly Entry[]): string => {
  const dir = join(root, String(n++), name);
  mkdirSync(dir, { recursive: true });
  for (const e of entries) {
    const path = join(dir, e.file);
    try {
      if (e.file.includes('/')) mkdirSync(join(path, '..'), { recursive: true });
      if (e.kind === 'fifo') {
        if (spawnSync('mkfifo', [path]).status !== 0) continue;
      } else if (e.kind === 'directory') mkdirSync(path);
      else if (e.kind === 'dev-zero') symlinkSync('/dev/zero', path);
      else if (e.kind === 'dangling') symlinkSync(join(root, 'nothing-here'), path);
      else {
        let body = Buffer.from(e.bytes);
        if (e.size !== null) body = Buffer.alloc(e.size, body.length > 0 ? body : 'x');
        writeFileSync(path, body);
        chmodSync(path, e.kind === 'executable' ? 0o755 : 0o644);
      }
    } catch {
      /* taken by an earlier entry */
    }
  }
  return dir;
};

describe('servicedir fuzz', () => {
  it(
    `readService never hangs, never throws, and every error is one line naming folder and file (${RUNS} cases)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(folderName, fc.uniqueArray(entry, { selector: (e) => e.file, maxLength: 8 }), async (name, entries) => {
          const dir = build(name, entries);
          const r = await reader.read(dir, DEADLINE_MS);
          rmSync(join(dir, '..'), { recursive: true, force: true }); // each case's own, so a long run leaves little to remove
          expect(r.kind === 'ok' || r.kind === 'errors', JSON.stringify(r)).toBe(true);
          if (r.kind !== 'errors') return;
          expect(r.errors.length).toBeGreaterThan(0);
          expect(r.errors.length).toBeLessThanOrEqual(40);
          expect(new Set(r.errors).size).toBe(r.errors.length);
          const shown = printable(name);
          for (const line of r.errors) {
            expect(line).not.toMatch(CONTROL);
            // NAME/FILE: ..., or NAME: for the folder itself (an invalid name)
            const named = line.startsWith(`${shown}/`) || line.startsWith(`${shown}: `);
            expect(named, line).toBe(true);
            if (line.startsWith(`${shown}/`)) {
              const file = line.slice(shown.length + 1, line.indexOf(': ', shown.length));
              const known = [...SETTINGS, ...EXECUTABLES, ...FOLDERS].includes(file) || file.startsWith('env/');
              expect(known, line).toBe(true);
            }
          }
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: 20 * 60_000 },
      );
    },
    30_000 + RUNS * 200,
  );
});
