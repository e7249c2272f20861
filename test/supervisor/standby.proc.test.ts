// The next run spawned ahead (src/supervisor/standby.ts, src/os/procgroup.ts
// Standby): a restart execs a process that already waits inside the
// service's cgroups, past its wrappers. Containment must be what it is
// without: every process born inside the cgroups, the parent-death signal
// set before run's first instruction, a stop leaves nothing, a SIGKILL of
// svrun leaves nothing; alone or hosted, each service its own standby.
// Real svrun, real kills; /proc as the witness.
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { control, exitOf, freePort, isAlive, procStat, type Sandbox, standbyPid, taskReaperPid, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));
afterEach(() => {
  delete process.env.SVKIT_NO_CGROUP;
});

/** Deadline for events that involve starting node processes on a busy machine. */
const SLOW = 10_000;

const MODES = [['cgroup'], ['process group']] as const;
type Mode = (typeof MODES)[number][0];
const useMode = (mode: Mode) => {
  if (mode === 'process group') process.env.SVKIT_NO_CGROUP = '1';
};

const waitStandby = (sup: number, dir?: string): Promise<number> => waitFor(() => standbyPid(sup, dir), 'the standby', SLOW);

/** `web` (`exec MARKER 1000`) under its own svrun in `mode`, running, with its standby waiting. */
const runningWithStandby = async (mode: Mode) => {
  useMode(mode);
  const m = sb.marker('web');
  const dir = sb.service('web', `exec ${m} 1000`);
  const sv = sb.svrun([dir]);
  const st = await sb.waitRunning('web', m, SLOW);
  const standby = await waitStandby(sv.pid!);
  return { m, dir, sv, st, standby };
};

const cgroupLines = (pid: number): string => readFileSync(`/proc/${pid}/cgroup`, 'utf8');
const cgroupProcs = (dir: string): number[] =>
  existsSync(dir) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number) : [];
/** SIGKILLs the run and waits for the next one to run the marker `m`. */
const restarted = async (name: string, pid: number, m: string) => {
  process.kill(pid, 'SIGKILL');
  await sb.waitStatus(name, (s) => s.state === 'up' && s.pid !== pid, 'restarted', SLOW);
  return sb.waitRunning(name, m, SLOW);
};

/** A file the service wrote: once its last line is there. */
const written = (dir: string, file: string): Promise<string> =>
  waitFor(() => {
    const path = join(dir, file);
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    return text.endsWith('\n') ? text : null;
  }, file);

describe('svrun: the next run waits ahead (standby)', () => {
  it.each(MODES)('a restart execs the standby: same cgroups from its first instruction, same fds and environment (%s)', async (mode) => {
    useMode(mode);
    const m = sb.marker('web');
    // what run sees first thing: its cgroups (cat is its child), its fds (notification-fd 5 included)
    const dir = sb.service('web', `cat /proc/self/cgroup > cgroup.$$\nls /proc/$$/fd > fds.$$\necho ready >&5\nexec ${m} 1000`, {
      'notification-fd': '5',
    });
    const sv = sb.svrun([dir]);
    const first = await sb.waitRunning('web', m, SLOW);
    expect(first.cgroup === null).toBe(mode === 'process group');
    const standby = await waitStandby(sv.pid!);
    // waiting: in the service's cgroups already, in a session of its own, run not started
    expect(cgroupLines(standby)).toBe(cgroupLines(first.pid!));
    if (first.cgroup) expect(cgroupProcs(first.cgroup).sort()).toEqual([first.pid, standby].sort());
    expect(procStat(standby)).toMatchObject({ pgid: standby, sid: standby });
    expect(existsSync(join(dir, `fds.${standby}`))).toBe(false);
    const environ = readFileSync(`/proc/${first.pid}/environ`, 'latin1');

    const second = await restarted('web', first.pid!, m);
    expect(second.pid).toBe(standby);
    expect(second.pidStart).toBe(procStat(standby)!.start);
    expect(await written(dir, `cgroup.${standby}`)).toBe(await written(dir, `cgroup.${first.pid}`));
    if (first.cgroup) expect(await written(dir, `cgroup.${standby}`)).toContain(first.cgroup.split('/').pop());
    expect(await written(dir, `fds.${standby}`)).toBe(await written(dir, `fds.${first.pid}`));
    expect(readFileSync(`/proc/${standby}/environ`, 'latin1')).toBe(environ);
  });

  it.each(MODES)(
    'the parent-death signal is set before run: with the task reaper gone, a SIGKILL of svrun still ends it (%s)',
    async (mode) => {
      useMode(mode);
      const m = sb.marker('web');
      const dir = sb.service('web', `exec ${m} 1000`);
      const sv = sb.svrun([dir]);
      const first = await sb.waitRunning('web', m, SLOW);
      const standby = await waitStandby(sv.pid!);
      expect((await restarted('web', first.pid!, m)).pid).toBe(standby);
      const next = await waitStandby(sv.pid!);
      // nothing but the kernel can stop them now: the reaper is gone, and svrun is killed before it starts another
      const reaper = await waitFor(() => taskReaperPid(dir), 'the task reaper', SLOW);
      process.kill(reaper, 'SIGKILL');
      await waitFor(() => !isAlive(reaper), 'the reaper to die');
      sv.kill('SIGKILL');
      await exitOf(sv);
      // the run (a sleep: it reads no pipe) can only die of its parent-death signal; the next standby of that or of its pipe's end
      await waitFor(() => !isAlive(standby) && !isAlive(next), 'the run and the next standby to die with svrun', SLOW);
      if (first.cgroup) await waitFor(() => cgroupProcs(first.cgroup!).length === 0, 'the cgroup empty', SLOW);
    },
  );

  it.each(MODES)('a stop leaves nothing: the standby goes first, and down means the cgroup is empty (%s)', async (mode) => {
    const { m, dir, sv, st, standby } = await runningWithStandby(mode);
    control(dir, 'd');
    await sb.waitStatus('web', (s) => s.state === 'down', 'down', SLOW);
    expect(isAlive(st.pid)).toBe(false);
    expect(isAlive(standby)).toBe(false);
    if (st.cgroup) expect(cgroupProcs(st.cgroup)).toEqual([]);
    // up again: a new run and, once it runs, a new standby; svrun's exit takes both and removes the cgroup
    control(dir, 'u');
    const again = await sb.waitRunning('web', m, SLOW);
    const next = await waitStandby(sv.pid!);
    sv.kill('SIGTERM');
    expect(await exitOf(sv)).toBe(0);
    expect(isAlive(again.pid)).toBe(false);
    expect(isAlive(next)).toBe(false);
    if (st.cgroup) expect(existsSync(st.cgroup)).toBe(false);
  });

  it.each(MODES)('a SIGKILL of svrun with a standby waiting leaves nothing (%s)', async (mode) => {
    const { sv, st, standby } = await runningWithStandby(mode);
    sv.kill('SIGKILL');
    await exitOf(sv);
    await waitFor(() => !isAlive(st.pid) && !isAlive(standby), 'the run and the standby to die', SLOW);
    // the task reaper removes the cgroup once it is empty
    if (st.cgroup) await waitFor(() => !existsSync(st.cgroup!), 'the cgroup removed', SLOW);
  });

  it('the standby is not the service: p stops the run and not the standby; an exit with only the standby left restarts at once', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const sv = sb.svrun([dir]);
    const first = await sb.waitRunning('web', m, SLOW);
    const standby = await waitStandby(sv.pid!);
    control(dir, 'p');
    await waitFor(() => procStat(first.pid!)?.state === 'T', 'the run stopped');
    expect(procStat(standby)!.state).not.toBe('T');
    control(dir, 'c');
    await waitFor(() => procStat(first.pid!)?.state !== 'T', 'the run continued');
    const second = await restarted('web', first.pid!, m);
    expect(second.pid).toBe(standby);
    // no leftovers were seen (the standby does not count), so nothing was stopped before the restart
    expect(await sb.waitLog('web', new RegExp(`started pid ${standby}\n`))).not.toMatch(/stopping/);
  });

  it('a standby killed by someone else: the next restart spawns as without, and a new standby follows once it is up', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `exec ${m} 1000`);
    const sv = sb.svrun([dir]);
    const first = await sb.waitRunning('web', m, SLOW);
    const standby = await waitStandby(sv.pid!);
    process.kill(standby, 'SIGKILL');
    await waitFor(() => standbyPid(sv.pid!) === null, 'the standby gone');
    process.kill(first.pid!, 'SIGKILL');
    const second = await sb.waitStatus('web', (s) => s.state === 'up' && s.pid !== first.pid, 'restarted', SLOW);
    expect(second.pid).not.toBe(standby);
    expect(await waitStandby(sv.pid!)).not.toBe(standby);
  });

  it('listen: the run a standby becomes gets the sockets as fds 3 and 4 and its own pid as LISTEN_PID, not the trigger', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `echo "$LISTEN_PID $$ $(ls /proc/$$/fd | tr '\\n' ' ')" >> ${sb.path('run.txt')}\nexec ${m} 1000`, {
      listen: `127.0.0.1:${await freePort()}\n127.0.0.1:${await freePort()}`,
    });
    const sv = sb.svrun([dir]);
    const first = await sb.waitRunning('web', m, SLOW);
    const standby = await waitStandby(sv.pid!);
    const second = await restarted('web', first.pid!, m);
    expect(second.pid).toBe(standby);
    const lines = sb.lines('run.txt');
    expect(lines).toHaveLength(2);
    // no descriptor the run spawned on the spot lacked (0-4, and what the shell's $(ls) opens, which may
    // differ by one from run to run): no trigger pipe
    const [pid, self, ...fds] = lines[1]!.trim().split(' ');
    expect([pid, self]).toEqual([String(standby), String(standby)]);
    const before = new Set(lines[0]!.trim().split(' ').slice(2));
    expect(fds.filter((fd) => !before.has(fd))).toEqual([]);
    expect(fds).toEqual(expect.arrayContaining(['0', '1', '2', '3', '4']));
    expect(readlinkSync(`/proc/${standby}/fd/3`)).toMatch(/^socket:/);
    expect(existsSync(`/proc/${standby}/fd/5`)).toBe(false);
  });

  it('a reload that changes what runs discards the standby: the restart runs with the new environment', async () => {
    const m = sb.marker('web');
    const dir = sb.service('web', `echo "$GREETING" > greeting.$$\nexec ${m} 1000`, { 'env/GREETING': 'old' });
    const sv = sb.svrun([dir]);
    const first = await sb.waitRunning('web', m, SLOW);
    const standby = await waitStandby(sv.pid!);
    writeFileSync(join(dir, 'env/GREETING'), 'new\n');
    control(dir, 'l');
    const second = await sb.waitStatus('web', (s) => s.state === 'up' && s.pid !== first.pid, 'restarted by the reload', SLOW);
    await sb.waitRunning('web', m, SLOW);
    expect(second.pid).not.toBe(standby);
    expect(await written(dir, `greeting.${second.pid}`)).toBe('new\n');
    await waitFor(() => !isAlive(standby), 'the old standby gone');
    // the next standby carries the new environment
    const next = await waitStandby(sv.pid!);
    expect(readFileSync(`/proc/${next}/environ`, 'latin1')).toContain('GREETING=new\0');
  });

  it("no standby with pids-max (it would take one of the service's processes): its neighbour in the same host has one", async () => {
    const ml = sb.marker('limited');
    const mf = sb.marker('free');
    const limited = sb.service('limited', `exec ${ml} 1000`, { 'pids-max': '20' });
    const free = sb.service('free', `exec ${mf} 1000`);
    const sv = sb.svrun([limited, free]);
    await sb.waitRunning('limited', ml, SLOW);
    const f1 = await sb.waitRunning('free', mf, SLOW);
    // free's standby, then its next one: both timers were set after limited's run started, and timers fire in order
    const s1 = await waitStandby(sv.pid!, free);
    expect((await restarted('free', f1.pid!, mf)).pid).toBe(s1);
    await waitStandby(sv.pid!, free);
    expect(standbyPid(sv.pid!, limited)).toBeNull();
  });

  it('hosted: each service its own standby in its own cgroup; a SIGKILL of the host leaves nothing', async () => {
    const names = ['a', 'b'];
    const markers = names.map((n) => sb.marker(n));
    const dirs = names.map((n, i) => sb.service(n, `exec ${markers[i]} 1000`));
    const sv = sb.svrun(dirs);
    const runs = await Promise.all(names.map((n, i) => sb.waitRunning(n, markers[i]!, SLOW)));
    const standbys = await Promise.all(dirs.map((d) => waitStandby(sv.pid!, d)));
    expect(new Set(standbys).size).toBe(2);
    for (const [i, r] of runs.entries()) expect(cgroupLines(standbys[i]!)).toBe(cgroupLines(r.pid!));
    // a's restart takes a's standby; b keeps its run and its standby
    expect((await restarted('a', runs[0]!.pid!, markers[0]!)).pid).toBe(standbys[0]);
    expect(sb.status('b')!.pid).toBe(runs[1]!.pid);
    expect(standbyPid(sv.pid!, dirs[1])).toBe(standbys[1]);
    const next = await waitStandby(sv.pid!, dirs[0]);
    sv.kill('SIGKILL');
    await exitOf(sv);
    const left = [standbys[0]!, next, runs[1]!.pid!, standbys[1]!];
    await waitFor(() => left.every((p) => !isAlive(p)), 'every run and standby to die with the host', SLOW);
    for (const r of runs) if (r.cgroup) await waitFor(() => !existsSync(r.cgroup!), 'the cgroups removed', SLOW);
  });
});
