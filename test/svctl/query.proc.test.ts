// The read-only commands and signal: status (table and --json), check,
// wait (both ways, and its timeout), signal, logs, graph, and the CLI's
// usage errors and help (most in process: status.test.ts, cli.test.ts).
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inBothModes, pidsByArgv0, type Sandbox, startSvctl, waitFor, withSandbox } from '../helpers.js';

/** Deadline for events that involve starting node processes on a busy machine. */
const SLOW = 10_000;

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const forever = (name: string) => `exec ${sb.marker(name)} 1000`;
const outLines = (text: string) => text.split('\n').filter(Boolean);

inBothModes(
  () => sb,
  () => {
    describe('status', () => {
      it('--json: status objects with supervised true/false; the table: a line per service', async () => {
        sb.service('a', forever('a'), { 'timeout-kill': '500' });
        sb.service('b', forever('b'));
        sb.service('f', 'exit 3', { restart: 'never', down: '' });
        expect((await sb.svctl(['up', 'a', 'f'])).code).toBe(0);
        await sb.waitStatus('f', (s) => s.state === 'failed', 'f failed', SLOW);
        const a = sb.status('a')!;

        const r = await sb.svctl(['status', '--json']);
        expect(r.code).toBe(0);
        const all = JSON.parse(r.stdout) as Record<string, unknown>[];
        expect(all.map((s) => s.name)).toEqual(['a', 'b', 'f']);
        expect(all[0]).toMatchObject({
          version: 1,
          name: 'a',
          type: 'longrun',
          supervised: true,
          state: 'up',
          want: 'up',
          pid: a.pid,
          pidStart: a.pidStart,
          log: null,
        });
        expect(all[1]).toMatchObject({ name: 'b', supervised: false, state: 'down', pid: null });
        expect(all[2]).toMatchObject({ name: 'f', supervised: true, state: 'failed', lastExit: { code: 3, signal: null } });

        const one = await sb.svctl(['status', 'b', '--json']);
        expect(JSON.parse(one.stdout)).toHaveLength(1);

        const table = await sb.svctl(['status']);
        expect(table.code).toBe(0);
        const rows = outLines(table.stdout);
        expect(rows[0]).toMatch(/^NAME +STATE +PID +UPTIME +RESTARTS +LAST EXIT +READY +MEM +CPU$/);
        // MEM and CPU from a's cgroups where it has them, else `-`
        expect(rows[1]).toMatch(
          new RegExp(`^a +up +${a.pid} +\\d+s +0 +- +running \\(unchecked\\) +(\\d+(\\.\\d)?[BKMG]|-) +(\\d+\\.\\d\\ds|-)$`),
        );
        expect(rows[2]).toMatch(/^b +down +- +- +0 +- +- +- +-$/);
        expect(rows[3]).toMatch(/^f +failed +- +- +0 +exited 3 +- +- +-$/);
      });
    });

    describe('check', () => {
      it('exit 0 when every service without a down file is up, else 1 and a line per service that is not', async () => {
        sb.service('a', forever('a'));
        sb.service('b', forever('b'));
        sb.service('c', forever('c'), { down: '' });
        let r = await sb.svctl(['check']);
        expect(r.code).toBe(1);
        expect(outLines(r.stdout)).toEqual(['a: down (not supervised)', 'b: down (not supervised)']);
        expect((await sb.svctl(['up'])).code).toBe(0);
        expect(await sb.svctl(['check'])).toMatchObject({ code: 0, stdout: '' });
        r = await sb.svctl(['check', 'c', '--json']);
        expect(r.code).toBe(1);
        expect(JSON.parse(r.stdout)).toEqual([{ name: 'c', state: 'down', supervised: false, leftovers: null, lastError: null }]);
        expect((await sb.svctl(['check', 'a'])).code).toBe(0);
      });
    });

    describe('wait', () => {
      it('times out with exit 1 after -t; returns soon after the state is reached; works for down and failed', async () => {
        sb.service('a', forever('a'), { 'timeout-kill': '500' });
        sb.service('f', 'exit 3', { restart: 'never' });
        const t0 = Date.now();
        const r = await sb.svctl(['wait', 'up', 'a', '-t', '400']);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe('svctl: a: not up after 400 ms (state down)\n');
        expect(Date.now() - t0).toBeGreaterThanOrEqual(400);

        const waiting = startSvctl(sb, ['wait', 'up', 'a', '-t', '15000']);
        const waited = waiting.done.then((res) => ({ ...res, at: Date.now() }));
        expect((await sb.svctl(['up', 'a'])).code).toBe(0);
        const upAt = Date.now();
        const w = await waited;
        expect(w).toMatchObject({ code: 0, stderr: '' });
        expect(w.at).toBeGreaterThanOrEqual(Date.parse(sb.status('a')!.readyAt!)); // it did wait for a
        expect(w.at - upAt).toBeLessThan(15_000); // woken by a's status, not its -t 15000 (how fast: bench)

        expect((await sb.svctl(['down', 'a'])).code).toBe(0);
        expect((await sb.svctl(['wait', 'down', 'a', '-t', '3000'])).code).toBe(0);
        expect((await sb.svctl(['up', 'f'])).code).toBe(0);
        expect((await sb.svctl(['wait', 'failed', 'f', '-t', '5000'])).code).toBe(0);
        expect((await sb.svctl(['wait', 'sideways', 'f'])).code).toBe(2);
      });
    });

    describe('signal', () => {
      it('reaches the service through its supervisor; an unsupervised service is an error', async () => {
        sb.service('web', `trap 'echo hup >> ${sb.path('got')}' HUP\n${sb.marker('web')} 1000 &\nwhile :; do wait; done`);
        sb.service('idle', forever('idle'));
        expect((await sb.svctl(['up', 'web'])).code).toBe(0);
        await waitFor(() => pidsByArgv0(sb.marker('web')).length === 1, 'web running', SLOW);
        expect(await sb.svctl(['signal', 'HUP', 'web'])).toMatchObject({ code: 0, stderr: '' });
        await waitFor(() => existsSync(sb.path('got')) && readFileSync(sb.path('got'), 'utf8') === 'hup\n', 'the HUP trap', SLOW);
        expect(await sb.svctl(['signal', 'SIGHUP', 'idle'])).toMatchObject({ code: 1, stderr: 'svctl: idle: not supervised\n' });
        const bad = await sb.svctl(['signal', 'PWR', 'web']);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/^svctl: signal: cannot send "PWR"/);
      });
    });

    describe('logs', () => {
      it('prints the last N lines; -f follows what is appended', async () => {
        sb.service('web', `for i in 1 2 3 4 5; do echo line-$i; done\n${forever('web')}`);
        expect((await sb.svctl(['up'])).code).toBe(0);
        const log = join(sb.scan, 'web', 'log', 'current');
        await waitFor(() => sb.log('web').includes('line-5'), 'the lines logged', SLOW);
        let r = await sb.svctl(['logs', 'web', '-n', '2']);
        expect(r.code).toBe(0);
        expect(outLines(r.stdout)).toEqual(outLines(sb.log('web')).slice(-2));
        r = await sb.svctl(['logs', 'web']);
        expect(outLines(r.stdout).filter((l) => / out line-\d$/.test(l))).toHaveLength(5);

        const follow = startSvctl(sb, ['logs', '-f', 'web', '-n', '1']);
        await waitFor(
          () => follow.stdout().includes('line-5') || follow.stdout().includes('svrun'),
          'logs -f to print the last line',
          SLOW,
        );
        appendFileSync(log, 'appended-later\n');
        await waitFor(() => follow.stdout().includes('appended-later'), 'logs -f to print the new line', SLOW);
        follow.child.kill('SIGTERM');
        await follow.done;
      });
    });

    describe('the command line, end to end', () => {
      // graph, every usage error and --help run in process (test/svctl/cli.test.ts); here the binary's exit codes reach the shell
      it('usage errors exit 2 with one line on stderr', async () => {
        sb.service('a', forever('a'));
        for (const args of [['bogus'], ['status', 'nope']]) {
          const r = await sb.svctl(args);
          expect(r.code, args.join(' ')).toBe(2);
          expect(r.stderr, args.join(' ')).toMatch(/^svctl: [^\n]+\n$/);
        }
        const missing = await sb.svctl(['-d', join(sb.dir, 'nope'), 'status']);
        expect(missing).toMatchObject({ code: 2, stderr: `svctl: ${join(sb.dir, 'nope')}: no such scan directory\n` });
        expect(await sb.svctl(['--help'])).toMatchObject({ code: 0, stderr: '' });
      });
    });
  },
);
