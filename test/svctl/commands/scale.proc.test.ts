// svctl scale TEMPLATE@ N on real supervisors: the numbered instances 1..N
// created and up, the surplus stopped and removed highest numbers first and
// other names last; bad arguments are exit 2 with nothing changed.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { surplusOrder } from '../../../src/svctl/commands/scale.js';
import { pidsByArgv0, type Sandbox, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const instances = () =>
  readdirSync(sb.scan)
    .filter((n) => n.startsWith('worker@') && n !== 'worker@')
    .sort();
const template = () => sb.service('worker@', `exec ${sb.marker('worker')} 1000`, { 'timeout-kill': '500' });

describe('surplusOrder (pure)', () => {
  it('numbered from the highest down, then the other names', () => {
    expect(surplusOrder(['w@blue', 'w@3', 'w@10', 'w@a', 'w@4'])).toEqual(['w@10', 'w@4', 'w@3', 'w@a', 'w@blue']);
  });
});

describe('svctl scale', () => {
  it('up to 3, then down to 1: created and started, then removed in order (3, 2, then blue); the kept one untouched', {
    timeout: 60_000,
  }, async () => {
    template();
    let r = await sb.svctl(['scale', 'worker@', '3']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(instances()).toEqual(['worker@1', 'worker@2', 'worker@3']);
    expect(pidsByArgv0(sb.marker('worker'))).toHaveLength(3);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['worker@1', 'worker@2', 'worker@3'].map((n) => expect.stringMatching(new RegExp(`^${n}: ready in `))),
    );

    // scaling to what there is changes nothing
    const pid1 = sb.status('worker@1')!.pid;
    r = await sb.svctl(['scale', 'worker@', '3']);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });

    expect((await sb.svctl(['up', 'worker@blue'])).code).toBe(0);
    r = await sb.svctl(['scale', 'worker@', '1']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const removed = r.stdout
      .split('\n')
      .filter((l) => / removed in /.test(l))
      .map((l) => l.split(':')[0]);
    expect(removed).toEqual(['worker@3', 'worker@2', 'worker@blue']);
    expect(instances()).toEqual(['worker@1']);
    expect(sb.status('worker@1')!.pid).toBe(pid1);
    expect(pidsByArgv0(sb.marker('worker'))).toEqual([pid1]);

    r = await sb.svctl(['scale', 'worker@', '0']);
    expect(r.code).toBe(0);
    expect(instances()).toEqual([]);
    expect(pidsByArgv0(sb.marker('worker'))).toEqual([]);
    expect(existsSync(join(sb.scan, 'worker@'))).toBe(true);
  });

  it('an instance that does not come up: exit 1 naming it, and the surplus is kept', async () => {
    const dir = template();
    expect((await sb.svctl(['scale', 'worker@', '2'])).code).toBe(0);
    expect((await sb.svctl(['up', 'worker@blue'])).code).toBe(0);
    // from now on a new numbered instance above 2 is never ready (the template's files, through the links)
    sb.write(dir, 'check', '#!/bin/sh\ncase "$1" in [12]|blue) exit 0;; esac\nexit 1\n');
    sb.write(dir, 'timeout-ready', '1000');
    const r = await sb.svctl(['scale', 'worker@', '3']);
    expect(r.code).toBe(1);
    expect(r.stderr, r.stderr).toMatch(/^svctl: worker@3: not ready after 1000 ms \(state \w+\)/m);
    expect(r.stderr).toMatch(/^svctl: worker@: worker@blue not removed: the pool is not up$/m);
    expect(instances()).toEqual(['worker@1', 'worker@2', 'worker@3', 'worker@blue']);
    expect((await sb.svctl(['down', 'worker@*'])).code).toBe(0);
  });

  it.each<[string[], RegExp]>([
    [['scale', 'worker', '2'], /^svctl: scale: expected a template \(NAME@\), got "worker"$/],
    [['scale', 'nope@', '2'], /^svctl: scale: nope@: no template nope@ in /],
    [['scale', 'worker@', 'two'], /^svctl: scale: expected a number of instances from 0 to 1000, got "two"$/],
    [['scale', 'worker@', '1001'], /^svctl: scale: expected a number of instances from 0 to 1000, got "1001"$/],
    [['scale', 'worker@'], /missing required argument 'N'/],
  ])('svctl %j: exit 2, one line, nothing changed', async (args, line) => {
    template();
    const r = await sb.svctl(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(line);
    expect(instances()).toEqual([]);
  });
});
