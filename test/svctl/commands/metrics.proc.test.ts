// svctl metrics end to end: real supervisors, their status.json and cgroups,
// the output read back by a strict parser of the Prometheus text format
// (./promtext.ts); --listen on 127.0.0.1 with an ephemeral port, fetched over
// HTTP, stopped by SIGTERM and SIGINT; and svctl metrics run as a service
// itself, as services.example/metrics does.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupDirs } from '../../../src/os/cgroup.js';
import { readUsage } from '../../../src/os/usage.js';
import { METRICS_CONTENT_TYPE } from '../../../src/svctl/metrics/prometheus.js';
import { inBothModes, type Sandbox, startSvctl, SVCTL, waitFor, withSandbox } from '../../helpers.js';
import { type Family, parsePromText } from '../metrics/promtext.js';
import { STATES } from '../../../src/vocabulary.js';

/** Deadline for events that involve starting node processes on a busy machine. */
const SLOW = 10_000;

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const forever = (name: string) => `exec ${sb.marker(name)} 1000`;

/** The values of `name`'s samples for `service` (and `state`). */
const values = (families: Map<string, Family>, name: string, service: string, state?: string): number[] =>
  (families.get(name)?.samples ?? [])
    .filter((s) => s.labels.service === service && (state === undefined || s.labels.state === state))
    .map((s) => s.value);

/** Each test starts several node processes (svctl, svrun): seconds each on a loaded machine. */
const E2E = { timeout: 60_000 };

const get = (url: string, init: RequestInit = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(SLOW) });

/** svctl metrics --listen in the background, once it has said where it listens. */
const serve = async (args: string[] = []) => {
  const bg = startSvctl(sb, ['metrics', '--listen', '127.0.0.1:0', ...args]);
  const url = await waitFor(
    () => /^svctl: metrics: listening on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(bg.stderr())?.[1],
    () => `the listening line (stderr: ${bg.stderr()})`,
    SLOW,
  );
  return { ...bg, url };
};

inBothModes(
  () => sb,
  () => {
    describe('svctl metrics', E2E, () => {
      it('prints every service in the text format: state, restarts, start time from status.json; usage where the cgroup has it', async () => {
        sb.service('a', forever('a'), { 'timeout-kill': '300' });
        sb.service('b', forever('b'), { down: '' });
        expect((await sb.svctl(['up', 'a'])).code).toBe(0);
        const a = await sb.waitRunning('a', sb.marker('a'), SLOW);

        const r = await sb.svctl(['metrics']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        const m = parsePromText(r.stdout);
        expect(values(m, 'svkit_up', 'a')).toEqual([1]);
        expect(values(m, 'svkit_up', 'b')).toEqual([0]);
        for (const s of STATES) {
          expect(values(m, 'svkit_state', 'a', s)).toEqual([s === 'up' ? 1 : 0]);
          expect(values(m, 'svkit_state', 'b', s)).toEqual([s === 'down' ? 1 : 0]);
        }
        expect(values(m, 'svkit_restarts_total', 'a')).toEqual([a.restarts]);
        expect(values(m, 'svkit_start_time_seconds', 'a')).toEqual([Date.parse(a.startedAt!) / 1000]);
        expect(values(m, 'svkit_start_time_seconds', 'b')).toEqual([]); // nothing runs: no start time

        // usage: a series exactly where the service's cgroup has the file (no cgroup, no line; never a made-up 0)
        const usage = readUsage(cgroupDirs('a', join(sb.scan, 'a')));
        const has = (v: number | null | undefined) => (v === null || v === undefined ? 0 : 1);
        expect(values(m, 'svkit_memory_bytes', 'a')).toHaveLength(has(usage?.memoryBytes));
        expect(values(m, 'svkit_cpu_seconds_total', 'a')).toHaveLength(has(usage?.cpuSeconds));
        expect(values(m, 'svkit_oom_kills_total', 'a')).toHaveLength(has(usage?.oomKills));
        for (const f of ['svkit_memory_bytes', 'svkit_cpu_seconds_total', 'svkit_oom_kills_total', 'svkit_healthy'])
          expect(values(m, f, 'b')).toEqual([]);
        expect(values(m, 'svkit_healthy', 'a')).toEqual([]); // no health-interval

        // NAME...: those only
        const one = await sb.svctl(['metrics', 'b']);
        expect(one.code).toBe(0);
        expect(
          parsePromText(one.stdout)
            .get('svkit_up')!
            .samples.map((s) => s.labels.service),
        ).toEqual(['b']);
      });

      it('svkit_healthy from status.json health where it is an object; absent where null or missing', async () => {
        sb.service('h', forever('h'), { down: '' });
        sb.service('n', forever('n'), { down: '' });
        const record = (name: string, health: unknown) => {
          mkdirSync(join(sb.scan, name, 'supervise'), { recursive: true });
          const s = {
            version: 1,
            name,
            type: 'longrun',
            supervisor: null,
            want: 'down',
            state: 'down',
            since: new Date().toISOString(),
            pid: null,
            pidStart: null,
            startedAt: null,
            readyAt: null,
            restarts: 4,
            lastExit: null,
            log: null,
            nextStartAt: null,
            lastError: null,
            cgroup: null,
            health,
          };
          writeFileSync(sb.statusPath(name), JSON.stringify(s));
        };
        record('h', { ok: false, failures: 3, lastCheckAt: new Date().toISOString() });
        record('n', null);
        const r = await sb.svctl(['metrics']);
        expect(r.code).toBe(0);
        const m = parsePromText(r.stdout);
        expect(values(m, 'svkit_healthy', 'h')).toEqual([0]);
        expect(values(m, 'svkit_healthy', 'n')).toEqual([]);
        expect(values(m, 'svkit_restarts_total', 'h')).toEqual([4]);
      });

      it('an unknown name or a missing scan directory: one line, exit 2', async () => {
        sb.service('a', forever('a'));
        let r = await sb.svctl(['metrics', 'nope']);
        expect(r).toMatchObject({ code: 2, stdout: '' });
        expect(r.stderr).toMatch(/^svctl: nope: no such service in .+\n$/);
        r = await sb.svctl(['metrics', '-d', join(sb.dir, 'missing')]);
        expect(r).toMatchObject({ code: 2, stdout: '' });
        expect(r.stderr).toMatch(/^svctl: .*missing: no such scan directory\n$/);
      });
    });

    describe('svctl metrics --listen', E2E, () => {
      it('serves the same text at GET /metrics, computed anew once the last is a second old; 404 elsewhere, 405 for other methods; SIGTERM: exit 0', async () => {
        sb.service('a', forever('a'), { 'timeout-kill': '300' });
        sb.service('b', forever('b'), { down: '', 'timeout-kill': '300' });
        expect((await sb.svctl(['up', 'a'])).code).toBe(0);
        const srv = await serve();

        const res = await get(srv.url);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe(METRICS_CONTENT_TYPE);
        let m = parsePromText(await res.text());
        expect(values(m, 'svkit_up', 'a')).toEqual([1]);
        expect(values(m, 'svkit_up', 'b')).toEqual([0]);

        expect((await sb.svctl(['up', 'b'])).code).toBe(0);
        // a text is served for a second at least (metrics/snapshot.ts): the next one says b is up
        m = await waitFor(
          async () => {
            const again = parsePromText(await (await get(`${srv.url}?x=1`)).text()); // a query string changes nothing
            return values(again, 'svkit_up', 'b')[0] === 1 ? again : null;
          },
          'a text with b up',
          SLOW,
          200,
        );
        expect(values(m, 'svkit_up', 'b')).toEqual([1]);

        const head = await get(srv.url, { method: 'HEAD' });
        expect([head.status, await head.text()]).toEqual([200, '']);
        const other = await get(srv.url.replace('/metrics', '/'));
        expect(other.status).toBe(404);
        await other.text();
        const post = await get(srv.url, { method: 'POST', body: 'x' });
        expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
        await post.text();

        srv.child.kill('SIGTERM');
        const done = await srv.done;
        expect(done.code).toBe(0);
        expect(done.stdout).toBe('');
        await expect(get(srv.url)).rejects.toThrow(); // no longer listening
      });

      it('only the named services; SIGINT: exit 0', async () => {
        sb.service('a', forever('a'), { down: '' });
        sb.service('b', forever('b'), { down: '' });
        const srv = await serve(['b']);
        const m = parsePromText(await (await get(srv.url)).text());
        expect(m.get('svkit_up')!.samples.map((s) => s.labels.service)).toEqual(['b']);
        srv.child.kill('SIGINT');
        expect((await srv.done).code).toBe(0);
      });

      it('keeps serving when the scan directory goes away: 500 with the reason (also logged), 200 once it is back', async () => {
        sb.service('a', forever('a'), { down: '' });
        const srv = await serve();
        renameSync(sb.scan, `${sb.scan}.away`);
        try {
          const res = await get(srv.url);
          expect([res.status, await res.text()]).toEqual([500, `svctl: ${sb.scan}: no such scan directory\n`]);
          expect(srv.stderr()).toContain(`svctl: metrics: ${sb.scan}: no such scan directory\n`);
        } finally {
          renameSync(`${sb.scan}.away`, sb.scan);
        }
        const res = await get(srv.url);
        expect(res.status).toBe(200);
        expect(values(parsePromText(await res.text()), 'svkit_up', 'a')).toEqual([0]);
        srv.child.kill('SIGTERM');
        expect((await srv.done).code).toBe(0);
      });

      it('an invalid HOST:PORT, or none: one line, exit 2, nothing served (the cases: test/svctl/metrics/prometheus.test.ts parseListen)', async () => {
        sb.service('a', forever('a'), { down: '' });
        const [missing, bad] = await Promise.all([sb.svctl(['metrics', '--listen']), sb.svctl(['metrics', '--listen', '127.0.0.1:65536'])]);
        expect(missing).toMatchObject({ code: 2, stdout: '', stderr: "svctl: option '--listen <HOST:PORT>' argument missing\n" });
        expect(bad).toMatchObject({
          code: 2,
          stdout: '',
          stderr: 'svctl: --listen: expected a port from 0 to 65535, got "127.0.0.1:65536"\n',
        });
      });

      it('an address in use: one line, exit 1', async () => {
        sb.service('a', forever('a'), { down: '' });
        const taken = createServer();
        await new Promise<void>((res) => taken.listen(0, '127.0.0.1', res));
        try {
          const port = (taken.address() as { port: number }).port;
          const r = await sb.svctl(['metrics', '--listen', `127.0.0.1:${port}`]);
          expect(r).toMatchObject({ code: 1, stdout: '' });
          expect(r.stderr).toBe(`svctl: metrics: cannot listen on 127.0.0.1:${port}: address already in use\n`);
        } finally {
          taken.close();
        }
      });

      it("as a service of the scan directory it watches (-d ..), it sees the other services' cgroups", async ({ skip }) => {
        sb.service('a', forever('a'), { 'timeout-kill': '300' });
        sb.service('metrics', `exec ${process.execPath} ${SVCTL} -d .. metrics --listen 127.0.0.1:0`, { 'timeout-kill': '2000' });
        expect((await sb.svctl(['up'])).code).toBe(0);
        const a = await sb.waitRunning('a', sb.marker('a'), SLOW);
        const url = (await sb.waitLog('metrics', /listening on http:\/\/127\.0\.0\.1:\d+\/metrics/, SLOW)).match(
          /http:\/\/127\.0\.0\.1:\d+\/metrics/,
        )![0];
        const m = parsePromText(await (await get(url)).text());
        expect(values(m, 'svkit_up', 'a')).toEqual([1]);
        expect(values(m, 'svkit_up', 'metrics')).toEqual([1]);
        // what svctl outside any service cgroup reads for a is what the service reads too
        const usage = readUsage(cgroupDirs('a', join(sb.scan, 'a')));
        if (a.cgroup === null || usage?.cpuSeconds == null)
          return skip('no cgroup v2 with cpu.stat here: nothing to compare (the first test covers absence)');
        expect(values(m, 'svkit_cpu_seconds_total', 'a')).toHaveLength(1);
        expect(values(m, 'svkit_memory_bytes', 'a')).toHaveLength(usage?.memoryBytes == null ? 0 : 1);
        expect((await sb.svctl(['down'])).code).toBe(0);
        expect(sb.log('metrics')).not.toMatch(/ err svctl: (?!metrics: listening)/); // stopped by its down-signal without complaint
      });
    });
  },
);
