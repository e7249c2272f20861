// svctl refusing an invalid scan directory: exit 2, one line per problem,
// nothing started (reading one: scan.test.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidsByArgv0, type Sandbox, withSandbox } from './helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const forever = (name: string) => `exec ${sb.marker(name)} 1000`;

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
