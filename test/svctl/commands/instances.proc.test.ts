// Instances of templates on real processes: `svctl up worker@N` creates the
// instance folders from worker@/ (links to the template, their own log/ and
// supervise/), `requires: worker@5` creates worker@5, `svctl remove` stops
// an instance and deletes its folder while the pool's users keep running,
// bad names change nothing, and status groups a pool under its template.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inBothModes, pidsByArgv0, type Sandbox, waitFor, withSandbox } from '../../helpers.js';
import { svctlInProcess } from '../inprocess.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const forever = (name: string) => `exec ${sb.marker(name)} 1000`;
const listing = () => readdirSync(sb.scan).sort();

/** The template worker@: records `$1 $SVKIT_INSTANCE` in `args`, then runs the marker `worker`. */
const template = (files: Record<string, string> = {}) =>
  sb.service('worker@', `echo "$1 $SVKIT_INSTANCE" >> ${sb.path('args')}\n${forever('worker')}`, {
    'timeout-kill': '500',
    'log/config': 'size 8192',
    ...files,
  });

inBothModes(
  () => sb,
  () => {
    describe('svctl up NAME@INST: instances created from the template', () => {
      it('a pool of 4; remove worker@2: the others, and what requires worker@*, keep running; what names it is stopped first', async () => {
        template();
        sb.service('lb', forever('lb'), { requires: 'worker@*', 'timeout-kill': '500' });
        sb.service('web', forever('web'), { requires: 'worker@2', 'timeout-kill': '500' });
        let r = await sb.svctl(['up', 'worker@1', 'worker@2', 'worker@3', 'worker@4']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(sb.lines('args').sort()).toEqual(['1 1', '2 2', '3 3', '4 4']);
        expect(pidsByArgv0(sb.marker('worker'))).toHaveLength(4);

        // links to the template, relative; log/ and supervise/ the instance's own
        const w1 = join(sb.scan, 'worker@1');
        expect(readlinkSync(join(w1, 'run'))).toBe('../worker@/run');
        expect(readlinkSync(join(w1, 'timeout-kill'))).toBe('../worker@/timeout-kill');
        expect(lstatSync(join(w1, 'log')).isDirectory()).toBe(true);
        expect(readlinkSync(join(w1, 'log', 'config'))).toBe('../../worker@/log/config');
        expect(lstatSync(join(w1, 'supervise')).isDirectory()).toBe(true);
        expect(existsSync(join(sb.scan, 'worker@', 'supervise'))).toBe(false); // the template is never started
        await sb.waitLog('worker@1', /svrun ready/); // the log is written just after status.json

        r = await sb.svctl(['up', 'lb', 'web']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        const before = Object.fromEntries(['worker@1', 'worker@3', 'worker@4', 'lb'].map((n) => [n, sb.status(n)!.pid]));
        const w2 = sb.status('worker@2')!;
        // seen running, so that "stopped" below means stopped
        expect(pidsByArgv0(sb.marker('worker'))).toContain(w2.pid);
        await waitFor(() => pidsByArgv0(sb.marker('web')).length === 1, 'web running');

        r = await sb.svctl(['remove', 'worker@2']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(existsSync(join(sb.scan, 'worker@2'))).toBe(false);
        expect(pidsByArgv0(sb.marker('worker'))).toHaveLength(3);
        expect(pidsByArgv0(sb.marker('worker'))).not.toContain(w2.pid);
        expect(pidsByArgv0(sb.marker('web'))).toEqual([]); // named worker@2: stopped first
        for (const [n, pid] of Object.entries(before)) {
          expect(sb.status(n)).toMatchObject({ state: 'up', pid });
        }
        expect(pidsByArgv0(sb.marker('lb'))).toEqual([before.lb]);
        // the template is untouched by the deletion of the links
        expect(statSync(join(sb.scan, 'worker@', 'run')).isFile()).toBe(true);
        expect(readFileSync(join(sb.scan, 'worker@', 'log', 'config'), 'utf8')).toBe('size 8192\n');
        expect(listing()).toEqual(['lb', 'web', 'worker@', 'worker@1', 'worker@3', 'worker@4']);

        // web names the removed instance: up web creates it again
        r = await sb.svctl(['up', 'web']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(sb.status('worker@2')!.state).toBe('up');
      });

      it('requires: worker@5 creates worker@5 (and what the template requires) on up web, before web starts', async () => {
        sb.service('db', forever('db'), { 'timeout-kill': '500' });
        template({ requires: 'db' });
        sb.service('web', forever('web'), { requires: 'worker@5', 'timeout-kill': '500' });
        expect(existsSync(join(sb.scan, 'worker@5'))).toBe(false);
        const r = await sb.svctl(['up', 'web']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        expect(readlinkSync(join(sb.scan, 'worker@5', 'run'))).toBe('../worker@/run');
        expect(sb.lines('args')).toEqual(['5 5']);
        const [db, w5, web] = ['db', 'worker@5', 'web'].map((n) => sb.status(n)!);
        expect(w5!.state).toBe('up');
        expect(Date.parse(w5!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(db!.readyAt!));
        expect(Date.parse(web!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(w5!.readyAt!));
        expect(listing()).toEqual(['db', 'web', 'worker@', 'worker@5']);

        // once creates too, and wants once
        expect((await sb.svctl(['once', 'worker@6'])).code).toBe(0);
        expect(sb.status('worker@6')).toMatchObject({ state: 'up', want: 'once' });
        expect(pidsByArgv0(sb.marker('worker'))).toHaveLength(2);
      });

      it('bad names change nothing: remove of a plain service, a template, a missing instance; up from a missing template, a bad instance name, a cycle', async () => {
        sb.service('db', forever('db'), { 'timeout-kill': '500' });
        template();
        expect((await sb.svctl(['up', 'db', 'worker@1'])).code).toBe(0);
        const pids = { db: sb.status('db')!.pid, w1: sb.status('worker@1')!.pid };
        const before = listing();

        const cases: [string[], RegExp][] = [
          [['remove', 'db'], /^svctl: db: not an instance of a template/],
          [['remove', 'worker@'], /^svctl: worker@: is a template/],
          [['remove', 'worker@9'], /^svctl: worker@9: no such instance in /],
          [['remove', 'worker@1', 'worker@9'], /^svctl: worker@9: no such instance in /],
          [['up', 'ghost@1'], /^svctl: ghost@1: no such service in .*, and no template ghost@ to create it from$/],
          [['up', 'worker@2', 'worker@a@b'], /^svctl: worker@a@b: invalid instance name "a@b"/],
          [['restart', 'worker@x y'], /^svctl: worker@x y: invalid instance name "x y"/],
        ];
        // in this process (test/svctl/inprocess.ts): refused before anything is started or locked; exit codes through the binary: query.proc.test.ts
        for (const [args, re] of cases) {
          const r = await svctlInProcess([...args, '-d', sb.scan]);
          expect(r.code, args.join(' ')).toBe(2);
          expect(r.stderr.split('\n').filter(Boolean), args.join(' ')).toHaveLength(1);
          expect(r.stderr.trim(), args.join(' ')).toMatch(re);
        }

        // requires naming an instance of a missing template: an error naming the file
        sb.service('web', forever('web'), { requires: 'ghost@3' });
        let r = await sb.svctl(['up', 'web']);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe('svctl: web/requires: unknown service "ghost@3" (no template ghost@)\n');
        // a cycle through an instance still to be created: found before it is created
        sb.write(join(sb.scan, 'web'), 'requires', 'worker@5');
        sb.write(join(sb.scan, 'worker@'), 'requires', 'web');
        r = await sb.svctl(['up', 'web']);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe('svctl: dependency cycle: web -> worker@5 -> web\n');

        expect(listing()).toEqual([...before, 'web'].sort());
        expect(sb.status('db')).toMatchObject({ state: 'up', pid: pids.db });
        expect(sb.status('worker@1')).toMatchObject({ state: 'up', pid: pids.w1 });
        expect(sb.status('web')).toBeNull();
      });
    });

    describe('svctl remove: an instance that does not stop', () => {
      it('keeps its folder, exit 1 naming it', async () => {
        // ignores TERM and is never killed (timeout-kill 0)
        sb.service('stubborn@', `trap '' TERM\n${sb.marker('stubborn')} 1000 & wait; wait`, { 'timeout-kill': '0' });
        expect((await sb.svctl(['up', 'stubborn@1'])).code).toBe(0);
        const r = await sb.svctl(['remove', 'stubborn@1', '-t', '700']);
        expect(r.code).toBe(1);
        expect(r.stderr.split('\n').filter(Boolean)).toEqual([
          expect.stringMatching(/^svctl: stubborn@1: still stopping after \d+ ms \(supervisor pid \d+\)$/),
          'svctl: stubborn@1: not removed (not down); its folder is kept',
        ]);
        expect(existsSync(join(sb.scan, 'stubborn@1', 'run'))).toBe(true);
        expect(pidsByArgv0(sb.marker('stubborn'))).toHaveLength(1);
      });
    });

    describe('svctl status with templates', () => {
      it('the table groups instances under their template; --json stays flat, instances with "template"', async () => {
        sb.service('db', forever('db'), { 'timeout-kill': '500' });
        template();
        sb.service('queue@', forever('q')); // a template with no instance
        expect((await sb.svctl(['up', 'worker@1', 'worker@2', 'worker@3'])).code).toBe(0);
        expect((await sb.svctl(['down', 'worker@3'])).code).toBe(0);

        let r = await sb.svctl(['status']);
        expect(r.code).toBe(0);
        const rows = r.stdout.split('\n').filter(Boolean);
        expect(rows.map((l) => l.replace(/ +/g, ' ').split(' ').slice(0, 3).join(' '))).toEqual([
          'NAME STATE PID',
          'db down -',
          'queue@ template, 0',
          'worker@ template, 3',
          ' worker@1 up', // indented
          ' worker@2 up',
          ' worker@3 down',
        ]);
        expect(rows[2]).toMatch(/^queue@ +template, 0 instances$/);
        expect(rows[3]).toMatch(/^worker@ +template, 3 instances$/);
        expect(rows[4]).toMatch(new RegExp(`^  worker@1 +up +${sb.status('worker@1')!.pid} `));
        // columns stay aligned: STATE starts at the same place on every service line
        const col = rows[0]!.indexOf('STATE');
        for (const l of [rows[1]!, ...rows.slice(4)]) expect(l.slice(col)).toMatch(/^(up|down) /);

        r = await sb.svctl(['status', '--json']);
        const all = JSON.parse(r.stdout) as Record<string, unknown>[];
        expect(all.map((s) => s.name)).toEqual(['db', 'worker@1', 'worker@2', 'worker@3']);
        expect(all[0]).not.toHaveProperty('template');
        expect(all.slice(1).map((s) => s.template)).toEqual(['worker@', 'worker@', 'worker@']);
        expect(all[1]).toMatchObject({ name: 'worker@1', state: 'up', supervised: true });

        // naming the template shows its pool
        r = await sb.svctl(['status', 'worker@']);
        expect(
          r.stdout
            .split('\n')
            .filter(Boolean)
            .slice(1)
            .map((l) => l.trim().split(/ +/)[0]),
        ).toEqual(['worker@', 'worker@1', 'worker@2', 'worker@3']);
        r = await sb.svctl(['status', '--json', 'worker@2']);
        expect((JSON.parse(r.stdout) as Record<string, unknown>[]).map((s) => [s.name, s.template])).toEqual([['worker@2', 'worker@']]);
      });
    });
  },
);
