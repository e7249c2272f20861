// svrun DIR DIR...: one process hosting several services, each as a lone
// svrun would supervise it. What one service goes through (an invalid
// folder, a crash loop, an OOM kill, `x`, its folder removed) leaves its
// neighbours' pids, status and logs as they were; a SIGKILLed host leaves
// nothing running and the next `svctl up --host` runs each service once;
// each service's processes hold only their own descriptors.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareCgroupDirs, removeCgroupDirs } from '../../src/os/cgroup.js';
import { control, exitOf, isAlive, pidsByArgv0, type Sandbox, svrunPids, taskReaperPid, waitFor, withSandbox } from '../helpers.js';

/** Deadline for events that involve starting node processes on a busy machine. */
const SLOW = 10_000;

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** A memory cgroup svrun can make here (v1 on a hybrid host, or v2 with the controller). */
const memcg = (() => {
  const probe = mkdtempSync(join(tmpdir(), 'svkit-probe-'));
  const dirs = prepareCgroupDirs('probe', probe);
  removeCgroupDirs(dirs);
  rmSync(probe, { recursive: true });
  if (dirs.memory) return true;
  try {
    return dirs.v2 !== null && readFileSync(join(dirs.v2, '..', 'cgroup.controllers'), 'utf8').includes('memory');
  } catch {
    return false;
  }
})();

/** A service that runs its marker, saying hello first. */
const steady = (name: string, files: Record<string, string> = {}) =>
  sb.service(name, `echo ${name}-hello\nexec ${sb.marker(name)} 1000`, { 'timeout-kill': '300', ...files });

/** What a neighbour must still show: same run, same supervisor, same log. */
const snapshot = (name: string) => {
  const s = sb.status(name)!;
  return {
    pid: s.pid,
    pidStart: s.pidStart,
    startedAt: s.startedAt,
    restarts: s.restarts,
    state: s.state,
    supervisor: s.supervisor,
    log: sb.log(name),
  };
};

/** The descriptors a process holds: fd number -> what it points at. */
const fdsOf = (pid: number): Map<number, string> => {
  const fds = new Map<number, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      fds.set(Number(fd), readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return fds;
};

describe('svrun hosting several services', () => {
  it('an invalid folder is refused on its own line; a crash loop, x and a removed folder leave the neighbours untouched', async () => {
    const neighbours = ['a', 'b'];
    for (const n of neighbours) steady(n);
    sb.service('crashy', 'echo crashing >&2; exit 1', { 'timeout-kill': '300' });
    steady('quits');
    steady('gone');
    const bad = sb.service('bad', 'exec sleep 1000', { 'timeout-kill': 'soon' });
    const host = sb.svrun(['a', 'crashy', 'bad', 'quits', 'gone', 'b'].map((n) => join(sb.scan, n)));
    for (const n of [...neighbours, 'quits', 'gone']) await sb.waitRunning(n, sb.marker(n), SLOW);
    for (const n of neighbours) await sb.waitLog(n, new RegExp(` out ${n}-hello\n`), SLOW);
    await sb.waitStatus('crashy', (s) => s.restarts >= 2, 'a crash loop', SLOW);
    expect(host.output()).toBe('svrun: bad/timeout-kill: expected milliseconds, got "soon"\n');
    expect(readdirSync(bad)).not.toContain('supervise');
    const before = Object.fromEntries(neighbours.map((n) => [n, snapshot(n)]));
    for (const n of [...neighbours, 'crashy', 'quits', 'gone']) expect(sb.status(n)!.supervisor!.pid).toBe(host.pid);
    expect(svrunPids(join(sb.scan, 'a'))).toEqual([host.pid]);

    // x: that service stops and leaves the host (no supervisor named: the host lives on)
    const quits = sb.status('quits')!;
    control(join(sb.scan, 'quits'), 'x');
    await sb.waitStatus('quits', (s) => s.supervisor === null && s.state === 'down', 'quits ended', SLOW);
    expect(pidsByArgv0(sb.marker('quits'))).toEqual([]);
    expect(isAlive(quits.pid)).toBe(false);

    // the folder removed: its service is stopped and its supervision ends
    const gone = sb.status('gone')!;
    rmSync(join(sb.scan, 'gone'), { recursive: true, force: true });
    await waitFor(
      () => pidsByArgv0(sb.marker('gone')).length === 0 && taskReaperPid(join(sb.scan, 'gone')) === null,
      () => `gone stopped: ${pidsByArgv0(sb.marker('gone'))} reaper ${taskReaperPid(join(sb.scan, 'gone'))} out ${host.output()}`,
      SLOW,
    );
    expect(isAlive(gone.pid)).toBe(false);

    // meanwhile crashy kept crashing, in backoff of its own
    await sb.waitStatus('crashy', (s) => s.restarts >= 3, 'crashy still looping', SLOW);
    expect(isAlive(host.pid)).toBe(true);
    for (const n of neighbours) {
      expect(snapshot(n)).toEqual(before[n]);
      expect(pidsByArgv0(sb.marker(n))).toEqual([before[n]!.pid]);
      // its log holds its own lines only
      expect(sb.log(n)).toContain(` out ${n}-hello\n`);
      expect(sb.log(n)).not.toMatch(/crashing|quits|gone|exited/);
    }
    expect(sb.log('crashy')).not.toMatch(/-hello/);

    host.kill('SIGTERM');
    expect(await exitOf(host)).toBe(0);
    for (const n of [...neighbours, 'crashy']) expect(sb.status(n)).toMatchObject({ state: 'down', want: 'down' });
    expect(sb.tokenPids()).toEqual([]);
  });

  it.runIf(memcg)('an OOM-killed service is restarted on its own; its neighbour keeps its run (needs a memory cgroup)', async () => {
    steady('calm');
    sb.service('hog', 'x=xxxxxxxxxxxxxxxx; while :; do x=$x$x; done', { 'memory-max': '32M', 'timeout-kill': '300' });
    const host = sb.svrun([join(sb.scan, 'calm'), join(sb.scan, 'hog')]);
    await sb.waitRunning('calm', sb.marker('calm'), SLOW);
    await sb.waitLog('calm', / out calm-hello\n/, SLOW);
    const before = snapshot('calm');
    const hog = await sb.waitStatus(
      'hog',
      (s) => (s.lastExit as { reason?: string } | null)?.reason === 'oom' && s.restarts >= 1,
      'an OOM kill and a restart',
      SLOW,
    );
    expect(hog.supervisor!.pid).toBe(host.pid);
    expect(snapshot('calm')).toEqual(before);
    expect(isAlive(host.pid)).toBe(true);
    host.kill('SIGTERM');
    expect(await exitOf(host)).toBe(0);
  });

  it('SIGKILL of the host: every service is stopped by its task reaper; svctl up --host then runs each once', async () => {
    const names = ['p', 'q', 'r'];
    for (const n of names)
      sb.service(n, `trap '' TERM\n${sb.marker(`${n}-child`)} 1000 &\nexec ${sb.marker(n)} 1000`, { 'timeout-kill': '300' });
    expect(await sb.svctl(['up', '--host'])).toMatchObject({ code: 0, stderr: '' });
    const host = sb.status('p')!.supervisor!.pid;
    for (const n of names) {
      expect(sb.status(n)!.supervisor!.pid).toBe(host);
      await waitFor(() => pidsByArgv0(sb.marker(`${n}-child`)).length === 1, `${n}'s child running`, SLOW);
    }
    process.kill(host, 'SIGKILL');
    // TERM is ignored: SIGKILL after timeout-kill, by each reaper
    await waitFor(
      () => names.every((n) => pidsByArgv0(sb.marker(n)).length === 0 && pidsByArgv0(sb.marker(`${n}-child`)).length === 0),
      'every service gone',
      SLOW,
    );

    expect(await sb.svctl(['up', '--host'])).toMatchObject({ code: 0, stderr: '' });
    const again = sb.status('p')!.supervisor!.pid;
    expect(again).not.toBe(host);
    for (const n of names) {
      expect(sb.status(n)).toMatchObject({ state: 'up', supervisor: { pid: again } });
      await waitFor(() => pidsByArgv0(sb.marker(`${n}-child`)).length === 1, `${n}'s child running again`, SLOW);
      expect(pidsByArgv0(sb.marker(n))).toEqual([sb.status(n)!.pid]);
    }
    expect(await sb.svctl(['down'])).toMatchObject({ code: 0, stderr: '' });
    await waitFor(() => !isAlive(again), 'the host to exit once its last service left', SLOW);
  });

  it('one task reaper serves the host: after a SIGKILL it stops every service at once, each on its own timeout-kill, and lets each go when done', async () => {
    for (const [n, ms] of [
      ['quick', 300],
      ['slow', 4000],
    ] as const)
      sb.service(n, `trap '' TERM\nexec ${sb.marker(n)} 1000`, { 'timeout-kill': String(ms) });
    steady('left');
    const host = sb.svrun(['quick', 'slow', 'left'].map((n) => join(sb.scan, n)));
    for (const n of ['quick', 'slow', 'left']) await sb.waitRunning(n, sb.marker(n), SLOW);
    const reaper = await waitFor(() => taskReaperPid(join(sb.scan, 'quick')), 'the reaper', SLOW);
    expect(taskReaperPid(join(sb.scan, 'slow'))).toBe(reaper);
    // a service that left the host is the reaper's no more
    control(join(sb.scan, 'left'), 'x');
    await sb.waitStatus('left', (s) => s.supervisor === null, 'left ended', SLOW);
    expect(taskReaperPid(join(sb.scan, 'left'))).toBeNull();
    host.kill('SIGKILL');
    // quick is SIGKILLed after its 300 ms, while slow still has its 4 s: quick's folder is free at once
    await waitFor(
      () => pidsByArgv0(sb.marker('quick')).length === 0 && taskReaperPid(join(sb.scan, 'quick')) === null,
      'quick reaped',
      SLOW,
    );
    expect(pidsByArgv0(sb.marker('slow'))).toHaveLength(1);
    expect(isAlive(reaper)).toBe(true);
    const again = sb.svrun([join(sb.scan, 'quick')]);
    await sb.waitRunning('quick', sb.marker('quick'), SLOW);
    await waitFor(() => pidsByArgv0(sb.marker('slow')).length === 0 && !isAlive(reaper), 'slow reaped and the reaper gone', SLOW);
    again.kill('SIGKILL'); // its own reaper stops quick
    await waitFor(() => pidsByArgv0(sb.marker('quick')).length === 0, 'quick reaped again', SLOW);
  });

  it("each service holds fds 0, 1, 2 (and its notification fd) only, never a neighbour's pipe", async () => {
    sb.service('n1', `echo ready >&3\nexec ${sb.marker('n1')} 1000`, { 'notification-fd': '3' });
    steady('n2');
    sb.service('n3', `exec ${sb.marker('n3')} 1000`);
    sb.write(join(sb.scan, 'n3'), 'log/run', `#!/bin/sh\nexec ${sb.marker('n3-log', 'cat')}\n`);
    const host = sb.svrun(['n1', 'n2', 'n3'].map((n) => join(sb.scan, n)));
    const pids: Record<string, number> = {};
    for (const n of ['n1', 'n2', 'n3']) pids[n] = (await sb.waitRunning(n, sb.marker(n), SLOW)).pid!;
    pids['n3-log'] = await waitFor(() => pidsByArgv0(sb.marker('n3-log', 'cat'))[0], 'the n3 logger', SLOW);
    const fds = Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, fdsOf(pid)]));
    expect([...fds.n1!.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const n of ['n2', 'n3', 'n3-log']) expect([...fds[n]!.keys()].sort(), n).toEqual([0, 1, 2]);
    // the logger reads what n3 writes: they share one pipe, and no other service has it
    expect(fds['n3-log']!.get(0)).toBe(fds.n3!.get(1));
    const pipesOf = (n: string) => new Set([...fds[n]!.values()].filter((t) => t.startsWith('pipe:') || t.startsWith('socket:')));
    for (const [a, b] of [
      ['n1', 'n2'],
      ['n1', 'n3'],
      ['n2', 'n3'],
      ['n1', 'n3-log'],
      ['n2', 'n3-log'],
    ] as const) {
      for (const p of pipesOf(a)) expect(pipesOf(b).has(p), `${a} and ${b} share ${p}`).toBe(false);
    }
    host.kill('SIGTERM');
    expect(await exitOf(host)).toBe(0);
  });

  it('exit codes: 100 when every folder is already supervised, 111 when refused for different reasons, 0 once those it supervised stopped', async () => {
    for (const n of ['l1', 'l2', 'ok']) steady(n);
    sb.service('broken', 'exec sleep 1000', { restart: 'sometimes' });
    const first = sb.svrun([join(sb.scan, 'l1'), join(sb.scan, 'l2')]);
    for (const n of ['l1', 'l2']) await sb.waitRunning(n, sb.marker(n), SLOW);
    const locked = await sb.svrunSync([join(sb.scan, 'l1'), join(sb.scan, 'l2')]);
    expect(locked).toMatchObject({
      code: 100,
      stderr: `svrun: l1 is already supervised by pid ${first.pid}\nsvrun: l2 is already supervised by pid ${first.pid}\n`,
    });
    const mixed = await sb.svrunSync([join(sb.scan, 'l1'), join(sb.scan, 'broken')]);
    expect(mixed.code).toBe(111);
    expect(mixed.stderr.split('\n').filter(Boolean)).toHaveLength(2);
    // one refused, one supervised until SIGTERM: 0
    const some = sb.svrun([join(sb.scan, 'broken'), join(sb.scan, 'ok'), join(sb.scan, 'ok')]);
    await sb.waitRunning('ok', sb.marker('ok'), SLOW);
    await waitFor(
      () => some.output().split('\n').filter(Boolean).length === 2,
      () => `two refusals: ${some.output()}`,
    );
    expect(some.output()).toContain(`svrun: ok is already supervised by pid ${some.pid}\n`); // the same folder twice
    some.kill('SIGTERM');
    expect(await exitOf(some)).toBe(0);
    first.kill('SIGTERM');
    expect(await exitOf(first)).toBe(0);
  });

  it("a second SIGINT kills every service at once, as it would a lone svrun's", async () => {
    for (const n of ['t1', 't2']) sb.service(n, `trap '' TERM INT\nexec ${sb.marker(n)} 1000`, { 'timeout-kill': '60000' });
    const host = sb.svrun([join(sb.scan, 't1'), join(sb.scan, 't2')]);
    for (const n of ['t1', 't2']) await sb.waitRunning(n, sb.marker(n), SLOW);
    host.kill('SIGINT');
    for (const n of ['t1', 't2']) await sb.waitStatus(n, (s) => s.state === 'stopping', `${n} stopping`, SLOW);
    host.kill('SIGINT');
    expect(await exitOf(host)).toBe(0);
    for (const n of ['t1', 't2']) expect(pidsByArgv0(sb.marker(n))).toEqual([]);
  });
});

describe('a refused hosted folder, as svctl reports it', () => {
  it("svctl up --host names the folder the host refused with the host's line, and brings the others up", async () => {
    steady('fine');
    steady('taken');
    const other = sb.svrun([join(sb.scan, 'taken')]);
    await sb.waitRunning('taken', sb.marker('taken'), SLOW);
    // a folder svctl read as valid but that svrun cannot use: supervise/ is a file
    steady('blocked');
    writeFileSync(join(sb.scan, 'blocked', 'supervise'), 'in the way\n');
    const r = await sb.svctl(['up', '--host']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('svctl: blocked/supervise: a regular file, not a directory\n');
    expect(sb.status('fine')).toMatchObject({ state: 'up' });
    expect(sb.status('taken')!.supervisor!.pid).toBe(other.pid);
    other.kill('SIGTERM');
    expect(await exitOf(other)).toBe(0);
  });
});
