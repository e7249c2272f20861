// Reading a scan directory (src/scan.ts) and svctl refusing an invalid one:
// exit 2, one line per problem, nothing started.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readScan, scanDirFrom } from '../src/scan.js';
import { pidsByArgv0, Sandbox, withSandbox } from './helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const forever = (name: string) => `exec ${sb.marker(name)} 1000`;

describe('readScan', () => {
  it('reads every folder, ignores dot folders and plain files, expands worker@*', () => {
    sb.service('db', forever('db'));
    sb.service('worker@', forever('w'), { requires: 'db' });
    sb.service('worker@1', forever('w'), { requires: 'db' });
    sb.service('worker@2', forever('w'), { requires: 'db' });
    sb.service('web', forever('web'), { requires: '# the pool\nworker@*\n\ndb\n', down: '' });
    mkdirSync(join(sb.scan, '.hidden'));
    sb.write(sb.scan, 'README', 'not a service');
    const scan = readScan(sb.scan);
    expect(scan.errors).toEqual([]);
    expect(scan.entries.map((e) => e.name)).toEqual(['db', 'web', 'worker@', 'worker@1', 'worker@2']);
    expect(scan.entries.find((e) => e.name === 'web')?.down).toBe(true);
    expect(scan.entries.find((e) => e.name === 'worker@')?.template).toBe(true);
    expect([...scan.services.keys()].sort()).toEqual(['db', 'web', 'worker@1', 'worker@2']);
    expect(scan.graph.get('web')).toEqual(['db', 'worker@1', 'worker@2']);
  });

  it('worker@* with no instance is satisfied', () => {
    sb.service('worker@', forever('w'));
    sb.service('web', forever('web'), { requires: 'worker@*' });
    const scan = readScan(sb.scan);
    expect(scan.errors).toEqual([]);
    expect(scan.graph.get('web')).toEqual([]);
  });

  it('collects every problem: bad names, bad files, unknown requires, cycles', () => {
    sb.service('ok', forever('ok'));
    sb.service('bad name', forever('x'));
    sb.service('web', forever('web'), { 'timeout-kill': 'abc', requires: 'ghost' });
    sb.service('a', forever('a'), { requires: 'b' });
    sb.service('b', forever('b'), { requires: 'a' });
    const scan = readScan(sb.scan);
    // folder by folder (each file's problem, then its requires), then cycles
    expect(scan.errors).toEqual([
      expect.stringMatching(/^bad name: invalid service name/),
      'web/timeout-kill: expected milliseconds, got "abc"',
      'web/requires: unknown service "ghost"',
      'dependency cycle: a -> b -> a',
    ]);
    // each folder's own problems by its name (svctl boot reports a new folder's by this, never by their text)
    expect(scan.problems.get('bad name')).toEqual([expect.stringMatching(/^bad name: invalid service name/)]);
    expect(scan.problems.get('web')).toEqual(['web/timeout-kill: expected milliseconds, got "abc"', 'web/requires: unknown service "ghost"']);
    expect(scan.problems.has('ok')).toBe(false);
  });

  it('the scan directory comes from the option, else $SVDIR, else ./services', () => {
    expect(scanDirFrom('/x/y', {})).toBe('/x/y');
    expect(scanDirFrom(undefined, { SVDIR: '/sv' })).toBe('/sv');
    expect(scanDirFrom(undefined, {})).toBe(join(process.cwd(), 'services'));
  });

  it('a missing scan directory is an error', () => {
    expect(() => readScan(join(sb.dir, 'nope'))).toThrow(/no such scan directory/);
  });
});

describe('svctl refuses an invalid scan directory', () => {
  it('a cycle: exit 2, the cycle in requires order, nothing started (also for an unrelated name); down only warns', async () => {
    for (const s of ['a', 'b', 'c', 'd']) sb.service(s, forever(s));
    sb.write(join(sb.scan, 'a'), 'requires', 'b');
    sb.write(join(sb.scan, 'b'), 'requires', 'c');
    sb.write(join(sb.scan, 'c'), 'requires', 'a');
    for (const args of [['up'], ['up', 'd'], ['graph']]) {
      const r = await sb.svctl(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe('svctl: dependency cycle: a -> b -> c -> a\n');
    }
    // stopping never refuses (SPEC.md): the cycle is a warning
    expect(await sb.svctl(['down'])).toMatchObject({
      code: 0,
      stderr: 'svctl: warning: dependency cycle: a -> b -> c -> a (its services are stopped without waiting for each other)\n',
    });
    for (const s of ['a', 'b', 'c', 'd']) {
      expect(pidsByArgv0(sb.marker(s))).toEqual([]);
      expect(sb.status(s)).toBeNull();
    }
  });

  it('a missing requirement and an invalid setting: one line each, exit 2, nothing started', async () => {
    sb.service('a', forever('a'), { requires: 'ghost' });
    sb.service('b', forever('b'), { 'down-signal': 'BOGUS' });
    sb.service('c', forever('c'));
    const r = await sb.svctl(['up']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      'svctl: a/requires: unknown service "ghost"',
      'svctl: b/down-signal: expected TERM, INT, QUIT, HUP, USR1 or USR2, got "BOGUS"',
    ]);
    for (const s of ['a', 'b', 'c']) expect(sb.status(s)).toBeNull();
    expect(pidsByArgv0(sb.marker('c'))).toEqual([]);
  });

  it('an unknown or template name: exit 2', async () => {
    sb.service('a', forever('a'));
    sb.service('worker@', forever('w'));
    let r = await sb.svctl(['up', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^svctl: nope: no such service/);
    r = await sb.svctl(['up', 'worker@']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^svctl: worker@: a template is never started itself/);
    expect(sb.status('a')).toBeNull();
  });
});

describe('a dependency chain of 20,000 services', () => {
  it('graph prints it without overflowing the stack', async () => {
    const n = 20_000;
    // on tmpfs where there is one: 60,000 files on a busy disk take minutes to write and delete
    const base = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/svkit-test-chain-') : sb.dir;
    const scan = join(base, 'chain');
    try {
      // a folder per service with just a run file (and its requires): the cheapest folder svctl accepts
      mkdirSync(scan);
      for (let i = 0; i < n; i++) {
        const dir = join(scan, `s${i}`);
        mkdirSync(dir);
        writeFileSync(join(dir, 'run'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
        if (i > 0) writeFileSync(join(dir, 'requires'), `s${i - 1}\n`);
      }
      const graph = await sb.svctl(['-d', scan, 'graph', `s${n - 1}`], 170_000);
      expect(graph.stderr).toBe('');
      expect(graph.code).toBe(0);
      const lines = graph.stdout.split('\n').filter(Boolean);
      expect(lines).toHaveLength(n);
      expect([lines[0], lines[n - 1]]).toEqual(['s0', `s${n - 1}`]);
    } finally {
      rmSync(base === sb.dir ? scan : base, { recursive: true, force: true }); // here, not in the cleanup hook (bounded at 20 s)
    }
  }, 180_000);
});
