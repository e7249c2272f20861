// Health checks and the watchdog (SPEC.md "Resources and health") with real
// processes: svrun runs `check` every health-interval once the service is up,
// stops and restarts it after health-retries failures in a row (a hung check
// is killed at health-timeout and counts as failed), and stops and restarts a
// service that falls silent on its notification fd for longer than watchdog,
// as a Node service using the client library does when its event loop blocks.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pidsByArgv0, reportFigures, ROOT, type Sandbox, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const LIB = pathToFileURL(join(ROOT, 'dist/src/client/index.js')).href;

/** The time of the first log line (`<ISO time> svrun <text>`) whose text matches `re`; NaN when there is none. */
const lineTime = (log: string, re: RegExp): number => {
  const line = log.split('\n').find((l) => re.test(l.replace(/^\S+ svrun /, '')) && / svrun /.test(l));
  return line ? Date.parse(line.split(' ')[0]!) : Number.NaN;
};

/** A service folder whose `run` is a Node program importing the built client library. */
const nodeService = (name: string, body: string, files: Record<string, string>): string => {
  const dir = sb.service(name, `exec ${process.execPath} ./service.mjs`, files);
  writeFileSync(join(dir, 'service.mjs'), `import { ready, heartbeat } from ${JSON.stringify(LIB)};\n${body}\n`);
  return dir;
};

describe('health checks', () => {
  it('a check that starts failing after ~1 s: unhealthy after health-retries failures, stopped, restarted (counted), reason unhealthy', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `date +%s%3N > started; exec ${m} 1000`, {
      // healthy for the first second of each run
      check: '#!/bin/bash\ns=$(cat started 2>/dev/null) || exit 1\n[ $(( $(date +%s%3N) - s )) -lt 1000 ]\n',
      'health-interval': '100',
      'health-retries': '3',
      'timeout-kill': '300',
    });
    sb.svrun([dir]);
    const first = await sb.waitRunning('web', m);
    expect(first.restarts).toBe(0);
    expect(first.health).toMatchObject({ ok: true, failures: 0 });
    const after = await sb.waitStatus('web', (s) => s.restarts >= 1, 'restarted after the checks failed', 8000);
    expect(after.lastExit).toMatchObject({ signal: 'SIGTERM', reason: 'unhealthy' });
    const log = await sb.waitLog('web', /svrun restarting in 0 ms\n/);
    expect(log).toMatch(
      / svrun health: failing: check exited 1\n(.*\n)*?\S+ svrun unhealthy: check failed 3 times\n\S+ svrun stopping: SIGTERM\n\S+ svrun killed by SIGTERM\n\S+ svrun restarting in 0 ms\n/,
    );
    // the passing checks before said nothing
    expect(log.match(/svrun health:/g)).toHaveLength(1);
    const readyAt = Date.parse(first.readyAt!);
    const failingAt = lineTime(log, /^health: failing/);
    const unhealthyAt = lineTime(log, /^unhealthy:/);
    const downAt = lineTime(log, /^killed by SIGTERM/);
    // three failures in a row, one interval apart after the first
    expect(unhealthyAt - failingAt).toBeGreaterThanOrEqual(200);
    const status = await sb.svctl(['status', 'web']);
    expect(status.stdout).toContain('killed by SIGTERM (unhealthy)');
    reportFigures(sb, 'health-unhealthy', {
      healthIntervalMs: 100,
      healthRetries: 3,
      readyToFirstFailureMs: failingAt - readyAt,
      firstFailureToUnhealthyMs: unhealthyAt - failingAt,
      unhealthyToExitMs: downAt - unhealthyAt,
    });
  });

  it('a hung check is killed at health-timeout and counts as failed', async () => {
    const m = sb.marker('web');
    const hang = sb.marker('hang');
    // the check hangs for the run whose pid is in `hang`: the next run's checks pass
    const dir = sb.service('web', `exec ${m} 1000`, {
      // (an empty `hang` never matches: before supervise/pid exists, both would read empty)
      check: `#!/bin/bash\nh=$(cat hang 2>/dev/null)\n[ -n "$h" ] && [ "$h" = "$(cat supervise/pid 2>/dev/null)" ] && exec ${hang} 30\nexit 0\n`,
      'health-interval': '100',
      'health-timeout': '200',
      'health-retries': '2',
      'timeout-kill': '300',
    });
    sb.svrun([dir]);
    const first = await sb.waitRunning('web', m);
    writeFileSync(join(dir, 'hang'), `${first.pid}\n`);
    await waitFor(() => pidsByArgv0(hang).length > 0, 'a hung health check');
    const after = await sb.waitStatus('web', (s) => s.restarts >= 1, 'restarted after two hung checks', 8000);
    expect(after.lastExit).toMatchObject({ reason: 'unhealthy' });
    const log = await sb.waitLog('web', /svrun unhealthy: check failed 2 times\n/);
    expect(log).toContain(' svrun health: failing: check timed out after 200 ms\n');
    // each hung check was killed with its group at its timeout: none is left (the last one's kill may still be landing)
    await waitFor(() => pidsByArgv0(hang).length === 0, 'no hung check left');
    const gap = lineTime(log, /^unhealthy:/) - lineTime(log, /^health: failing/);
    // the second check starts one interval after the first ended, and times out in its turn
    expect(gap).toBeGreaterThanOrEqual(300);
    reportFigures(sb, 'health-hung-check', { healthIntervalMs: 100, healthTimeoutMs: 200, failingToUnhealthyMs: gap });
  });

  it('passing checks log nothing and keep health ok; status.json shows when the last one ran', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, { check: '#!/bin/sh\nexit 0\n', 'health-interval': '50' });
    sb.svrun([dir]);
    await sb.waitRunning('web', m);
    const seen = new Set<string>();
    await sb.waitStatus(
      'web',
      (st) => {
        const h = st.health as { lastCheckAt: string | null } | null | undefined;
        if (h?.lastCheckAt) seen.add(h.lastCheckAt);
        return seen.size >= 4;
      },
      'four health checks',
    );
    const s = sb.status('web')!;
    expect(s).toMatchObject({ state: 'up', restarts: 0, health: { ok: true, failures: 0 } });
    expect(sb.log('web')).not.toMatch(/svrun (health|unhealthy)/);
    expect(
      sb
        .log('web')
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\S+ /, '')),
    ).toEqual([`svrun started pid ${s.pid}`, 'svrun ready']);
  });

  it('without health-interval the check only gates readiness: health is null and it never runs once up', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, { check: '#!/bin/sh\necho x >> runs\nexit 0\n' });
    sb.svrun([dir]);
    const s = await sb.waitRunning('web', m);
    expect(s.health).toBeNull();
    expect(sb.lines('services/web/runs')).toEqual(['x']);
  });
});

describe('watchdog', () => {
  it('a Node service that calls ready() and then blocks its event loop is restarted by the watchdog', async () => {
    const dir = nodeService('busy', 'ready();\nsetTimeout(() => { for (;;); }, 200);', {
      'notification-fd': '3',
      watchdog: '400',
      'timeout-kill': '300',
    });
    sb.svrun([dir]);
    const first = await sb.waitStatus('busy', (s) => s.state === 'up', 'up');
    const after = await sb.waitStatus('busy', (s) => s.restarts >= 1, 'restarted by the watchdog', 8000);
    expect(after.lastExit).toMatchObject({ signal: 'SIGTERM', reason: 'watchdog' });
    const log = await sb.waitLog('busy', /svrun restarting in 0 ms\n/);
    const m = /svrun watchdog: no heartbeat for (\d+) ms\n\S+ svrun stopping: SIGTERM\n/.exec(log);
    expect(m).not.toBeNull();
    const silentMs = Number(m![1]);
    expect(silentMs).toBeGreaterThanOrEqual(400);
    reportFigures(sb, 'watchdog-blocked-loop', {
      watchdogMs: 400,
      blockedAfterMs: 200,
      reportedSilenceMs: silentMs,
      readyToWatchdogMs: lineTime(log, /^watchdog:/) - Date.parse(first.readyAt!),
    });
  });

  it('a Node service that keeps its event loop free is not restarted over several watchdog periods', async () => {
    const dir = nodeService('calm', 'ready();\nsetInterval(() => {}, 1000);', {
      'notification-fd': '3',
      watchdog: '600',
      'timeout-kill': '300',
    });
    sb.svrun([dir]);
    // up, without a restart, for three watchdog periods since it became ready
    const s = await sb.waitStatus(
      'calm',
      (x) => x.state === 'up' && x.readyAt !== null && Date.now() - Date.parse(x.readyAt) > 3 * 600,
      'up for 3 watchdog periods',
      8000,
    );
    expect(s.restarts).toBe(0);
    expect(sb.status('calm')).toMatchObject({ state: 'up', restarts: 0, pid: s.pid, lastExit: null });
    expect(sb.log('calm')).not.toContain('watchdog');
  });

  it('a shell service keeps its watchdog fed with lines on the notification fd; silence after them stops it', async () => {
    const m = sb.marker('beat');
    // ready, then 5 heartbeats 100 ms apart, then silence
    const dir = sb.service('sh', `echo ready >&3; for i in 1 2 3 4 5; do ${m} 0.1; echo beat >&3; done; exec ${m} 1000`, {
      'notification-fd': '3',
      watchdog: '300',
      'timeout-kill': '300',
    });
    sb.svrun([dir]);
    const first = await sb.waitStatus('sh', (s) => s.state === 'up', 'up');
    const after = await sb.waitStatus('sh', (s) => s.restarts >= 1, 'restarted after the silence', 8000);
    expect(after.lastExit).toMatchObject({ reason: 'watchdog' });
    const log = await sb.waitLog('sh', /svrun watchdog: no heartbeat for \d+ ms\n/);
    // fed for 5 x 100 ms, more than the 300 ms watchdog, then silent for 300: unfed, it would have fired
    // about 300 ms after readyAt (which svrun stamps when it reads the line, possibly late under load)
    expect(lineTime(log, /^watchdog:/) - Date.parse(first.readyAt!)).toBeGreaterThanOrEqual(600);
  });

  it('the service gets $SVKIT_WATCHDOG_MS', async () => {
    const m = sb.marker('env');
    const dir = sb.service('env', `echo "$SVKIT_WATCHDOG_MS" > wd; echo >&3; exec ${m} 1000`, {
      'notification-fd': '3',
      watchdog: '60000',
    });
    sb.svrun([dir]);
    await sb.waitRunning('env', m);
    expect(sb.lines('services/env/wd')).toEqual(['60000']);
  });
});

describe('a log/ logger', () => {
  it("has neither the service's health checks nor its watchdog: it is not restarted while the service is", async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `echo ready >&3; while :; do ${m} 0.1; echo beat >&3; done`, {
      'notification-fd': '3',
      watchdog: '300',
      check: '#!/bin/sh\nexit 0\n',
      'health-interval': '50',
      'timeout-kill': '300',
      'log/run': '#!/bin/sh\nexec cat > /dev/null\n',
    });
    sb.svrun([dir]);
    const s = await sb.waitStatus(
      'web',
      (x) => x.state === 'up' && x.readyAt !== null && Date.now() - Date.parse(x.readyAt) > 3 * 300,
      'up for 3 watchdog periods',
      8000,
    );
    expect(s.restarts).toBe(0);
    expect(sb.status('web')!.log).toMatchObject({ state: 'up', restarts: 0 });
    const logger = JSON.parse(readFileSync(join(dir, 'log', 'supervise', 'status.json'), 'utf8')) as { restarts: number; health: unknown };
    expect(logger).toMatchObject({ restarts: 0, health: null });
  });
});

describe('invalid health settings', () => {
  // one representative: each invalid health setting and its line are servicedir.test.ts's table
  it.each<[string, Record<string, string>, string]>([
    ['health-interval without check', { 'health-interval': '100' }, 'web/health-interval: needs an executable check file'],
  ])('%s: svrun exits 111 and svctl up exits 2 with one line naming the file, nothing started', async (_d, files, text) => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`, files);
    const r = await sb.svrunSync([dir]);
    expect(r.code).toBe(111);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(`svrun: ${text}`)]);
    const c = await sb.svctl(['up', 'web']);
    expect(c.code).toBe(2);
    expect(c.stderr.trim().split('\n')).toEqual([expect.stringContaining(`svctl: ${text}`)]);
    expect(pidsByArgv0(m)).toEqual([]);
    expect(sb.status('web')).toBeNull();
  });
});
