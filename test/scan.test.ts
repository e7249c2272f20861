// Reading a scan directory (src/scan.ts): its folders, templates and their
// instances, every problem at once. svctl refusing an invalid one (exit 2,
// one line per problem, nothing started): scan.proc.test.ts.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readScan, scanDirFrom } from '../src/scan.js';
import { type Sandbox, withSandbox } from './helpers.js';

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
    expect(scan.problems.get('web')).toEqual([
      'web/timeout-kill: expected milliseconds, got "abc"',
      'web/requires: unknown service "ghost"',
    ]);
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
