// Resource limits with svrun and real services: an OOM kill named, a fork
// bomb held, a busy loop throttled, a descriptor limit seen, no cgroup at
// all. The values and the cgroup files written for them: limits.test.ts.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupDirs } from '../../src/os/cgroup.js';
import { readUsage } from '../../src/os/usage.js';
import { exitOf, pidsByArgv0, reportFigures, type Sandbox, SVRUN, waitFor, withSandbox } from '../helpers.js';
import { hasControllers, NO_CGROUPS } from './cgroupprobe.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const usageOf = (name: string) => readUsage(cgroupDirs(name, join(sb.scan, name)));
/** Processes in the service's (v2) cgroup right now. */
const procsIn = (cgroup: string) => readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).length;

describe('limits: real services', () => {
  it.runIf(hasControllers)('memory-max 32M: the service is OOM-killed, logged and recorded as such, and restarted by policy', async () => {
    // bash doubles a string until the cgroup's limit stops it
    sb.service('hog', 'x=xxxxxxxxxxxxxxxx; while :; do x=$x$x; done', { 'memory-max': '32M', 'timeout-kill': '300' });
    expect((await sb.svctl(['up', 'hog'])).code).toBe(0);
    const s = await sb.waitStatus(
      'hog',
      (st) => (st.lastExit as { reason?: string } | null)?.reason === 'oom' && st.restarts >= 1,
      'an OOM exit and a restart',
      10_000,
    );
    expect(s.lastExit).toMatchObject({ signal: 'SIGKILL', code: null, reason: 'oom' });
    expect(s.limits).toEqual({ applied: true, memoryMax: 32 * 1024 ** 2, cpuMax: null, pidsMax: null, nofile: null });
    await sb.waitLog('hog', / svrun killed by SIGKILL \(out of memory\)\n.* svrun restarting in \d+ ms/);
    const table = await sb.svctl(['status', 'hog']);
    expect(table.stdout).toMatch(/killed by SIGKILL \(oom\)/);
    const started = Date.parse(sb.log('hog').match(/^(\S+) svrun started pid/m)![1]!);
    const killed = Date.parse(sb.log('hog').match(/^(\S+) svrun killed by SIGKILL \(out of memory\)/m)![1]!);
    reportFigures(sb, 'oom', { startToOomExitMs: killed - started, memoryMax: '32M' });
    expect((await sb.svctl(['down', 'hog'])).code).toBe(0);
  });

  it.runIf(hasControllers)('pids-max 5: 30 background sleeps are held at 5 tasks in all, the service runs on', async () => {
    const m = sb.marker('bomb');
    const done = sb.path('forked');
    const dir = sb.service('bomb', '', { 'pids-max': '5', 'timeout-kill': '300' });
    // the fork loop in a subshell of sh (dash), which ends at the first refused fork (bash would
    // retry each for 15 s); the service itself goes on to exec its main process
    const loop = `i=0; while [ $i -lt 30 ]; do ${m} 100 & i=$((i+1)); done`;
    sb.write(dir, 'run', `#!/bin/sh\n( ${loop} ) 2>/dev/null; echo forked > ${done}; exec ${sb.marker('main')} 100\n`);
    expect((await sb.svctl(['up', 'bomb'])).code).toBe(0);
    await waitFor(() => existsSync(done), 'the fork loop to end', 10_000);
    const s = await sb.waitRunning('bomb', sb.marker('main'), 10_000);
    const tasks = procsIn(s.cgroup!);
    const usage = usageOf('bomb');
    expect(tasks).toBeLessThanOrEqual(5);
    expect(usage?.pids).toBeLessThanOrEqual(5);
    expect(usage?.pids).toBe(tasks);
    // some sleeps did start: the limit, not a broken loop, held them
    expect(pidsByArgv0(m).length).toBeGreaterThanOrEqual(2);
    expect(s.restarts).toBe(0);
    reportFigures(sb, 'pids', { tasksInCgroup: tasks, sleepsStarted: pidsByArgv0(m).length, attempted: 30 });
    expect((await sb.svctl(['down', 'bomb'])).code).toBe(0);
  });

  it.runIf(hasControllers)('cpu-max 20%: a busy loop gets about a fifth of one CPU', async () => {
    sb.service('spin', 'while :; do :; done', { 'cpu-max': '20%', 'timeout-kill': '300' });
    expect((await sb.svctl(['up', 'spin'])).code).toBe(0);
    await sb.waitStatus('spin', (s) => s.state === 'up', 'up', 10_000);
    const first = usageOf('spin')!.cpuSeconds!;
    const t0 = performance.now();
    // a measuring window of 3 s (not a wait for an event): CPU time over wall time
    await waitFor(() => performance.now() - t0 >= 3000, '3 s of measuring', 5000, 50);
    const percent = ((usageOf('spin')!.cpuSeconds! - first) / ((performance.now() - t0) / 1000)) * 100;
    reportFigures(sb, 'cpu', { cpuMaxPercent: 20, measuredPercent: Math.round(percent * 10) / 10 });
    expect(percent).toBeLessThan(40);
    expect(percent).toBeGreaterThan(5);
    // the kernel throttled it (on a busy machine a loop may get little CPU without any limit)
    const dirs = cgroupDirs('spin', join(sb.scan, 'spin'));
    const stat = readFileSync(join(dirs.cpu ?? dirs.v2!, 'cpu.stat'), 'utf8');
    expect(Number(/^nr_throttled (\d+)$/m.exec(stat)?.[1])).toBeGreaterThan(10);
    expect((await sb.svctl(['down', 'spin'])).code).toBe(0);
  });

  it('nofile 64: run and finish see 64 soft and hard', async () => {
    const out = sb.path('limits');
    sb.service('few', `grep 'open files' /proc/self/limits > ${out}.run; exec ${sb.marker('few')} 100`, {
      nofile: '64',
      finish: `#!/bin/sh\ngrep 'open files' /proc/self/limits > ${out}.finish\n`,
      'timeout-kill': '300',
      restart: 'never',
    });
    expect((await sb.svctl(['up', 'few'])).code).toBe(0);
    const s = await sb.waitRunning('few', sb.marker('few'), 10_000);
    expect(readFileSync(`/proc/${s.pid}/limits`, 'utf8')).toMatch(/^Max open files +64 +64 +files/m);
    expect(readFileSync(`${out}.run`, 'utf8')).toMatch(/^Max open files +64 +64 /);
    expect((await sb.svctl(['down', 'few'])).code).toBe(0);
    expect(readFileSync(`${out}.finish`, 'utf8')).toMatch(/^Max open files +64 +64 /);
    expect(sb.status('few')?.limits).toEqual({ applied: true, memoryMax: null, cpuMax: null, pidsMax: null, nofile: 64 });
  });

  it('without a cgroup (SVKIT_NO_CGROUP=1) the service runs, the log says once what is not applied, status.json says applied: false', async () => {
    const m = sb.marker('bare');
    const dir = sb.service('bare', `exec ${m} 100`, { 'memory-max': '64M', 'pids-max': '10', nofile: '100', 'timeout-kill': '300' });
    const sv = spawn(process.execPath, [SVRUN, dir], { env: { ...sb.env, SVKIT_NO_CGROUP: '1' }, stdio: 'ignore' });
    let done = false;
    try {
      const s = await sb.waitRunning('bare', m, 10_000);
      expect(s.cgroup).toBeNull();
      expect(s.limits).toEqual({ applied: false, memoryMax: 64 * 1024 ** 2, cpuMax: null, pidsMax: 10, nofile: 100 });
      // the lines are written before run is spawned, but the log's writes may land after status.json says up
      const log = await sb.waitLog('bare', /pids-max needs a pids cgroup; not applied\n/);
      expect(log.match(/error: limits: /g)).toHaveLength(2);
      expect(log).toContain('svrun error: limits: memory-max needs a memory cgroup; not applied\n');
      expect(log).toContain('svrun error: limits: pids-max needs a pids cgroup; not applied\n');
      // nofile needs no cgroup
      expect(readFileSync(`/proc/${s.pid}/limits`, 'utf8')).toMatch(/^Max open files +100 +100 /m);
      const usage = JSON.parse((await sb.svctl(['status', 'bare', '--json'])).stdout) as { usage: unknown }[];
      expect(usage[0]!.usage).toBeNull();
      done = true;
    } finally {
      sv.kill('SIGTERM');
      const code = await exitOf(sv);
      // a failure above may come before svrun handles SIGTERM: report that failure, not this one
      if (done) expect(code).toBe(0);
    }
  });

  // one representative: every limit's bad values are servicedir.test.ts's table
  it.each([['memory-max', 'lots']])('%s %j: one line naming the file; svrun 111, svctl 2; nothing started', async (file, value) => {
    const dir = sb.service('bad', `exec ${sb.marker('bad')} 100`, { [file]: value });
    const a = await sb.svctl(['up', 'bad']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(new RegExp(`^svctl: bad/${file}: expected [^\\n]+, got "${value}"\\n$`));
    const b = await sb.svrunSync([dir]);
    expect(b.code).toBe(111);
    expect(b.stderr).toMatch(new RegExp(`^svrun: bad/${file}: expected [^\\n]+, got "${value}"\\n$`));
    expect(existsSync(join(dir, 'supervise'))).toBe(false);
    expect(existsSync(join(dir, 'log'))).toBe(false);
  });
});

if (!hasControllers) console.warn(`limits.proc.test.ts: OOM, pids and cpu tests skipped: ${NO_CGROUPS}`);
