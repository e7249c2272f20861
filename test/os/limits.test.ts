// Resource limits (SPEC.md "Resources and health"): the pure value -> file
// table for v1 and v2, the v2 implementation on a folder laid out like
// cgroupfs (so every machine exercises it), the v1 one on the real
// hierarchies of a hybrid host, and svrun with real services: an OOM kill
// named, a fork bomb held, a busy loop throttled, a descriptor limit seen.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CgroupDirs, cgroupDirs, prepareCgroupDirs, removeCgroupDirs } from '../../src/os/cgroup.js';
import { applyLimits, notAppliedLines, v1Writes, v2Writes } from '../../src/os/limits.js';
import { readUsage } from '../../src/os/usage.js';
import type { Limits } from '../../src/vocabulary.js';
import { cpuText, memoryText } from '../../src/svctl/engine/usage.js';
import { exitOf, pidsByArgv0, reportFigures, Sandbox, SVRUN, waitFor, withSandbox } from '../helpers.js';

const NONE: Limits = { memoryMax: null, cpuMax: null, pidsMax: null, nofile: null };
const ALL: Limits = { memoryMax: 32 * 1024 ** 2, cpuMax: 250, pidsMax: 5, nofile: 64 };

describe('limits: file contents (pure)', () => {
  it.each<[string, Limits, string[]]>([
    ['every limit', ALL, ['memory.max=33554432', 'cpu.max=250000 100000', 'pids.max=5']],
    ['none: every file reset', NONE, ['memory.max=max', 'cpu.max=max 100000', 'pids.max=max']],
    ['1% of a CPU', { ...NONE, cpuMax: 1 }, ['memory.max=max', 'cpu.max=1000 100000', 'pids.max=max']],
  ])('v2, %s', (_, l, want) => {
    expect(v2Writes(l).map((w) => `${w.file}=${w.text}`)).toEqual(want);
  });

  it.each<[string, Limits, string[]]>([
    ['every limit', ALL, ['memory.limit_in_bytes=33554432', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=250000', 'pids.max=5']],
    ['none: every file reset', NONE, ['memory.limit_in_bytes=-1', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=-1', 'pids.max=max']],
    ['50% of a CPU', { ...NONE, cpuMax: 50 }, ['memory.limit_in_bytes=-1', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=50000', 'pids.max=max']],
  ])('v1, %s', (_, l, want) => {
    expect(v1Writes(l).map((w) => `${w.file}=${w.text}`)).toEqual(want);
  });

  it('the log line of a limit that cannot be had (SPEC text)', () => {
    expect(notAppliedLines(['memory', 'pids'])).toEqual([
      'limits: memory-max needs a memory cgroup; not applied',
      'limits: pids-max needs a pids cgroup; not applied',
    ]);
  });

  it.each<[number | null, string]>([
    [null, '-'], [512, '512B'], [4096, '4.0K'], [33554432, '32.0M'], [150 * 1024 ** 2, '150M'], [1.5 * 1024 ** 3, '1.5G'],
  ])('MEM column: %j -> %s', (bytes, text) => expect(memoryText(bytes)).toBe(text));

  it.each<[number | null, string]>([[null, '-'], [0.4213, '0.42s'], [59.999, '60.00s'], [187.5, '3m07s'], [7500, '2h05m']])(
    'CPU column: %j -> %s',
    (s, text) => expect(cpuText(s)).toBe(text),
  );
});

describe('limits: cgroup v2 on a folder laid out like cgroupfs', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  /** Our own cgroup (controllers available, none enabled yet) with the service's below it. */
  const fakeV2 = (subtree: 'file' | 'refused' = 'file'): CgroupDirs => {
    root = mkdtempSync(join(tmpdir(), 'svkit-fakecg-'));
    const own = join(root, 'own');
    const svc = join(own, 'svkit-web-0123456789');
    mkdirSync(svc, { recursive: true });
    writeFileSync(join(own, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    // a folder where the file should be: the write is refused, as EBUSY would refuse it
    if (subtree === 'file') writeFileSync(join(own, 'cgroup.subtree_control'), 'cpu\n');
    else mkdirSync(join(own, 'cgroup.subtree_control'));
    return { v2: svc, memory: null, cpu: null, cpuacct: null, pids: null };
  };
  const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

  it('every limit: controllers not enabled yet enabled in one write, then the files written', () => {
    const dirs = fakeV2();
    expect(applyLimits(dirs, ALL)).toEqual([]);
    expect(read(join(dirs.v2!, '..'), 'cgroup.subtree_control')).toBe('+memory +pids');
    expect(['memory.max', 'cpu.max', 'pids.max'].map((f) => read(dirs.v2!, f))).toEqual(['33554432', '250000 100000', '5']);
  });

  it('a refused subtree_control: every limit set is reported, nothing half applied counts as applied', () => {
    const dirs = fakeV2('refused');
    expect(applyLimits(dirs, { ...NONE, memoryMax: 4096, pidsMax: 9 }).sort()).toEqual(['memory', 'pids']);
  });

  it('no cgroup at all: each limit set is not applied; none set: nothing to report', () => {
    const none: CgroupDirs = { v2: null, memory: null, cpu: null, cpuacct: null, pids: null };
    expect(applyLimits(none, ALL)).toEqual(['memory', 'cpu', 'pids']);
    expect(applyLimits(none, NONE)).toEqual([]);
    expect(readUsage(none)).toBeNull();
  });

  it('usage: memory.current, cpu.stat usage_usec, pids.current, memory.events oom_kill', () => {
    const dirs = fakeV2();
    writeFileSync(join(dirs.v2!, 'memory.current'), '1048576\n');
    writeFileSync(join(dirs.v2!, 'cpu.stat'), 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n');
    writeFileSync(join(dirs.v2!, 'pids.current'), '3\n');
    writeFileSync(join(dirs.v2!, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n');
    expect(readUsage(dirs)).toEqual({ memoryBytes: 1048576, cpuSeconds: 2.5, pids: 3, oomKills: 2 });
  });
});

// The v1 hierarchies of a hybrid host, as svrun makes them for a service
const probeDir = mkdtempSync(join(tmpdir(), 'svkit-probe-'));
const v1Dirs = prepareCgroupDirs('probe', probeDir);
removeCgroupDirs(v1Dirs);
rmSync(probeDir, { recursive: true });
const hasV1 = v1Dirs.memory !== null && v1Dirs.cpu !== null && v1Dirs.pids !== null;
// where the v2 cgroup has the controllers, the services' limits go there instead
const hasControllers = hasV1 || (v1Dirs.v2 !== null && ['memory', 'cpu', 'pids'].every((c) => readFileSync(join(v1Dirs.v2!, '..', 'cgroup.controllers'), 'utf8').includes(c)));
const NO_CGROUPS = 'no writable memory, cpu and pids cgroup (v1 or v2) on this machine';

describe.runIf(hasV1)('limits: cgroup v1 on the real hierarchies', () => {
  it('written, read back, reset to no limit; usage read from them', () => {
    const superviseDir = mkdtempSync(join(tmpdir(), 'svkit-v1-'));
    const dirs = prepareCgroupDirs('v1probe', superviseDir);
    try {
      expect(dirs).toEqual(cgroupDirs('v1probe', superviseDir));
      expect(applyLimits(dirs, ALL)).toEqual([]);
      const read = (d: string | null, f: string) => readFileSync(join(d!, f), 'utf8').trim();
      expect([read(dirs.memory, 'memory.limit_in_bytes'), read(dirs.cpu, 'cpu.cfs_quota_us'), read(dirs.cpu, 'cpu.cfs_period_us'), read(dirs.pids, 'pids.max')]).toEqual([
        '33554432', '250000', '100000', '5',
      ]);
      expect(applyLimits(dirs, NONE)).toEqual([]);
      expect(read(dirs.cpu, 'cpu.cfs_quota_us')).toBe('-1');
      expect(read(dirs.pids, 'pids.max')).toBe('max');
      expect(Number(read(dirs.memory, 'memory.limit_in_bytes'))).toBeGreaterThan(2 ** 60);
      expect(readUsage(dirs)).toEqual({ memoryBytes: 0, cpuSeconds: 0, pids: 0, oomKills: 0 });
    } finally {
      expect(removeCgroupDirs(dirs)).toBe(true);
      rmSync(superviseDir, { recursive: true, force: true });
    }
    for (const d of Object.values(dirs)) if (d) expect(existsSync(d)).toBe(false);
  });
});

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
    const s = await sb.waitStatus('hog', (st) => (st.lastExit as { reason?: string } | null)?.reason === 'oom' && st.restarts >= 1, 'an OOM exit and a restart', 10_000);
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

  it.each([
    ['memory-max', 'lots'],
    ['cpu-max', 'fast'],
    ['pids-max', '0'],
    ['nofile', '1:2'],
  ])('%s %j: one line naming the file; svrun 111, svctl 2; nothing started', async (file, value) => {
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

if (!hasControllers) console.warn(`limits.test.ts: OOM, pids and cpu tests skipped: ${NO_CGROUPS}`);
