// The built entry points (scripts/bundle.mjs): each is one file (svctl: two)
// that loads no other svkit module at start-up, and what it finds relative to itself
// (package.json, svrun for svctl) is still found.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, SVCTL, SVRUN } from './helpers.js';

/** Module specifiers a built file imports that are not Node built-ins or koffi (loaded on demand, a native addon). */
const foreignImports = (file: string): string[] => {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([^"']+)["']/g)].map((m) => m[1]!);
  // what looks like a module path (a bundled library's text may say `from '.command()'`)
  return specifiers.filter((s) => /^[\w.@/-]+$/.test(s) && !isBuiltin(s) && s !== 'koffi');
};

describe('built entry points', () => {
  it('svrun and svctl are each one file: no svkit module or dependency loaded beside them (svctl: its commander part apart)', () => {
    expect(foreignImports(SVRUN)).toEqual([]);
    // status and check run from svctl.js alone; the other commands load svctl-cli.js (scripts/bundle.mjs)
    expect(foreignImports(SVCTL)).toEqual(['./svctl-cli.js']);
    expect(foreignImports(join(SVCTL, '..', 'svctl-cli.js'))).toEqual([]);
  });

  it('svctl --version reads package.json from the bundle', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = spawnSync(process.execPath, [SVCTL, '--version'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.stdout.trim()).toBe(version);
    expect(r.status).toBe(0);
  });
});
