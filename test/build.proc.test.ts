// The built entry points (scripts/bundle.mjs): each is one file (svctl: two)
// that loads no other svkit module at start-up, and what it finds relative to itself
// (package.json, svrun for svctl) is still found. svrun, once per service,
// loads none of the Node modules it does not need (docs/performance.md).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, ROOT, type Sandbox, SVCTL, SVRUN, withSandbox } from './helpers.js';

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

describe('svrun at run time', () => {
  let sb!: Sandbox;
  withSandbox((s) => (sb = s));

  it('supervising a service loads no ES module loader, node:crypto, fs/promises or readline', async () => {
    // every Node module svrun loaded in its whole life, written as it exits
    const list = sb.path('modules');
    const preload = sb.path('modules.cjs');
    writeFileSync(
      preload,
      `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`,
    );
    const m = sb.marker('footprint');
    const dir = sb.service('svc', `exec ${m} 100`);
    const svrun = spawn(process.execPath, ['-r', preload, SVRUN, dir], { env: sb.env, stdio: 'ignore' });
    await sb.waitRunning('svc', m);
    svrun.kill('SIGTERM');
    expect(await exitOf(svrun)).toBe(0);
    const loaded = readFileSync(list, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule child_process'); // the list is svrun's, taken at its exit
    // an ES module's loading (the bundle is CommonJS), crypto (cgroup names hash in src/os/sha1.ts),
    // graceful-fs's fs/promises and readline (proper-lockfile gets plain node:fs)
    const unneeded = ['internal/modules/esm/module_job', 'crypto', 'internal/fs/promises', 'internal/readline/interface'];
    expect(loaded.filter((l) => unneeded.some((u) => l === `NativeModule ${u}`))).toEqual([]);
  });
});
