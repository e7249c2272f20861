// The bench's steps, each measuring svkit in both modes (one svrun per
// service: `svkit`; hosted, one svrun for all: `host`) next to the Node
// floor and the peers, and adding its samples. bench/run.ts runs them.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { children, cmdline, contextSwitches, cpuMs, Owned, pssKiB, ussKiB } from './proc.js';
import { exec, type Peer, sleep, svkitRun, svrunHost, until, writeScan, writeService } from './peers.js';
import type { Contender, Samples } from './report.js';
import {
  bootShutdown,
  containerFootprint,
  floodStop,
  logThroughput,
  svrunKilled,
  upFailed,
  upGivesUp,
  upSvrunExits,
  waitUp,
} from './svkit-only.js';

export interface Bench {
  samples: Samples;
  owned: Owned;
  /** svkit (both modes), and runit and s6 where installed. */
  peers: readonly Peer[];
  freshDir(what: string): string;
  runs: number;
  bulkRuns: number;
  fewRuns: number;
  idleS: number;
  idleSettleS: number;
  lines: number;
  /** Supervisors just started still load and allocate: memory and idleness are read after this. */
  settleMs: number;
}

const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
const stopped = async (c: ChildProcess) => {
  if (!exited(c)) c.kill('SIGTERM');
  await until(() => exited(c), 'a supervisor to exit', 20_000);
};
/** The peers that supervise a folder with a process of their own (svkit one per service, runit, s6). */
const alone = (b: Bench) => b.peers.filter((p) => p.name !== 'host');
const hosts = (b: Bench) => b.peers.some((p) => p.name === 'host');
/** How many services the hosted variant of a per-supervisor measure hosts in one svrun. */
const HOSTED = 5;

/** An idle bare node, the floor of a supervisor's memory and idleness; started once it wrote its ready file. */
export const idleNode = async (b: Bench): Promise<ChildProcess> => {
  const ready = b.freshDir('node-ready');
  const c = spawn(process.execPath, ['-e', "setInterval(()=>{},1e9);require('fs').writeFileSync(process.argv[1],'')", ready], {
    stdio: 'ignore',
  });
  b.owned.add(c.pid);
  await until(() => existsSync(ready), 'an idle node', 60_000);
  return c;
};

/** Supervisor started to its service(s) up; SIGTERM to it until it and its service(s) are gone. Hosted: five services in one svrun. */
export const startAndStop = async (b: Bench) => {
  for (let i = 0; i < b.runs; i++) {
    for (const p of alone(b)) {
      const dir = writeService(b.freshDir(`one-${p.name}`));
      const t0 = performance.now();
      const sup = p.superviseOne(dir);
      b.owned.add(sup.pid);
      const run = await until(() => p.runPid(sup.pid!, dir), `${p.name} up`);
      b.samples.add('start', p.name, performance.now() - t0);
      b.owned.addTree(sup.pid);
      b.samples.add(
        'stop',
        p.name,
        await timed(async () => {
          sup.kill('SIGTERM');
          await until(() => exited(sup) && cmdline(run) === '', `${p.name} stopped`);
        }),
      );
    }
    if (!hosts(b)) continue;
    const dirs = Array.from({ length: HOSTED }, () => writeService(b.freshDir('one-host')));
    const t0 = performance.now();
    const host = svrunHost(dirs);
    b.owned.add(host.pid);
    const runs = await until(() => {
      const r = dirs.map(svkitRun);
      return r.every((x) => x !== null) && r;
    }, 'the hosted services up');
    b.samples.add('start', 'host', performance.now() - t0);
    b.owned.addTree(host.pid);
    b.samples.add(
      'stop',
      'host',
      await timed(async () => {
        host.kill('SIGTERM');
        await until(() => exited(host) && runs.every((r) => cmdline(r!) === ''), 'the host stopped');
      }),
    );
  }
};

/** SIGKILL of a long-running service with no crash history, each sample a different one, until the new run is exec'd. */
export const restart = async (b: Bench) => {
  type Running = {
    who: Contender;
    services: { dir: string; sup: number }[];
    procs: ChildProcess[];
    runPid: (sup: number, dir: string) => number | null;
  };
  const running: Running[] = alone(b).map((p) => {
    const services = Array.from({ length: b.runs }, () => {
      const dir = writeService(b.freshDir(`restart-${p.name}`));
      const sup = p.superviseOne(dir);
      b.owned.add(sup.pid);
      return { dir, sup };
    });
    return {
      who: p.name,
      services: services.map((s) => ({ dir: s.dir, sup: s.sup.pid! })),
      procs: services.map((s) => s.sup),
      runPid: p.runPid,
    };
  });
  if (hosts(b)) {
    const dirs = Array.from({ length: b.runs }, () => writeService(b.freshDir('restart-host')));
    const host = svrunHost(dirs);
    b.owned.add(host.pid);
    running.push({
      who: 'host',
      services: dirs.map((dir) => ({ dir, sup: host.pid! })),
      procs: [host],
      runPid: (_s, dir) => svkitRun(dir),
    });
  }
  for (const r of running) for (const s of r.services) await until(() => r.runPid(s.sup, s.dir), `${r.who} up`, 60_000);
  await sleep(1_500); // long-running: past runsv's one-second minimum between two starts
  for (let i = 0; i < b.runs; i++) {
    for (const r of running) {
      const { dir, sup } = r.services[i]!;
      b.owned.addTree(sup);
      const old = r.runPid(sup, dir)!;
      const t0 = performance.now();
      process.kill(old, 'SIGKILL');
      await until(() => {
        const now = r.runPid(sup, dir);
        return now !== null && now !== old;
      }, `${r.who} restarted`);
      b.samples.add('restart', r.who, performance.now() - t0);
    }
  }
  for (const r of running) await Promise.all(r.procs.map(stopped));
  b.owned.killAll();
};

/** 20 services running: memory of their supervision, each group alone (node's shared pages are split among the group's Node processes only); status and check. */
export const twenty = async (b: Bench) => {
  const floor = await Promise.all(Array.from({ length: 20 }, () => idleNode(b)));
  await sleep(b.settleMs);
  b.samples.add('pss', 'floor', ...floor.map((c) => pssKiB(c.pid!) / 1024));
  b.samples.add('uss', 'floor', ...floor.map((c) => ussKiB(c.pid!) / 1024));
  await Promise.all(floor.map(stopped));
  // the floor of a whole supervision: one idle node, alone as a host is
  const one = await idleNode(b);
  await sleep(b.settleMs);
  b.samples.add('mem20', 'floor', pssKiB(one.pid!) / 1024);
  await stopped(one);

  const scans = new Map<Peer, string>();
  for (const p of b.peers) {
    const scan = b.freshDir(`twenty-${p.name}`);
    const names = writeScan(scan, 20);
    scans.set(p, scan);
    const sups = [...new Set(await p.upAll(scan, names, b.owned))];
    await sleep(b.settleMs);
    // per service: a hosted svrun's share is its twentieth
    const share = 20 / sups.length;
    b.samples.add('pss', p.name, ...sups.map((s) => pssKiB(s) / 1024 / share));
    b.samples.add('uss', p.name, ...sups.map((s) => ussKiB(s) / 1024 / share));
    const helpers = [...new Set(p.helpers(scan, names))]; // a host's services share one task reaper
    if (p.name === 'svkit' || p.name === 'host') {
      b.samples.add('reaper-pss', p.name, ...helpers.map(pssKiB));
      // the next run, spawned ahead half a second after each run (docs/decisions.md, the standby): one per service
      const standbys = await until(() => {
        const found = sups.flatMap((s) => children(s).filter((c) => cmdline(c).startsWith('/bin/sh -c read -r _ <&')));
        return found.length >= names.length && found;
      }, 'a standby for each service');
      b.samples.add('standby-pss', p.name, ...standbys.map(pssKiB));
    }
    b.samples.add('mem20', p.name, [...sups, ...helpers].reduce((sum, pid) => sum + pssKiB(pid), 0) / 1024);
    // each group alone: the next one's Node processes must not share these pages
    await p.teardown(scan);
    b.owned.killAll();
  }
  // status and check need the services up: once more, all at once, one call of each interleaved
  for (const [p, scan] of scans)
    await p.upAll(
      scan,
      Array.from({ length: 20 }, (_, i) => `s${i}`),
      b.owned,
    );
  const every = Array.from({ length: 20 }, (_, i) => `s${i}`);
  for (let i = 0; i < b.runs; i++) {
    const t = await timed(() => exec([process.execPath, '-e', '0'], b.owned));
    b.samples.add('status', 'floor', t);
    b.samples.add('check', 'floor', t);
    for (const [p, scan] of scans) {
      b.samples.add('status', p.name, await timed(() => exec(p.statusArgv(scan, 's0'), b.owned)));
      b.samples.add('check', p.name, await timed(() => exec(p.checkArgv(scan, every), b.owned)));
    }
  }
  for (const [p, scan] of scans) await p.teardown(scan);
  b.owned.killAll();
};

/** 50 independent services: up until all are up, then down until none of their processes is left. */
export const fifty = async (b: Bench) => {
  const scans = new Map(b.peers.map((p) => [p, b.freshDir(`fifty-${p.name}`)] as const));
  const names = [...scans.values()].map((scan) => writeScan(scan, 50))[0]!;
  for (let i = 0; i < b.bulkRuns; i++) {
    b.samples.add('up50', 'floor', await timed(() => Promise.all(names.map(() => exec([process.execPath, '-e', '0'], b.owned)))));
    for (const [p, scan] of scans) {
      let sups: number[] = [];
      b.samples.add('up50', p.name, await timed(async () => (sups = await p.upAll(scan, names, b.owned))));
      // what a stop must end: the services (and svkit's supervisors and task reapers)
      const ends = new Owned();
      for (const [k, s] of sups.entries()) {
        if (p.downEndsSupervisors) ends.addTree(s);
        else ends.add(p.runPid(s, join(scan, names[k]!)));
      }
      b.samples.add(
        'down50',
        p.name,
        await timed(async () => {
          await p.downAll(scan, names, b.owned);
          await until(() => ends.allGone(), `${p.name} down`, 60_000);
        }),
      );
      await p.teardown(scan);
      b.owned.killAll();
    }
  }
};

/** Wake-ups and CPU of idle supervisors (a few of each kind, all at once), per minute; hosted: one svrun of five services. */
export const idle = async (b: Bench) => {
  const watched: { who: Contender; pid: number; services: number }[] = [];
  for (const c of await Promise.all(Array.from({ length: 5 }, () => idleNode(b)))) watched.push({ who: 'floor', pid: c.pid!, services: 1 });
  const sups: ChildProcess[] = [];
  for (const p of alone(b)) {
    for (let i = 0; i < 5; i++) {
      const dir = writeService(b.freshDir(`idle-${p.name}`));
      const sup = p.superviseOne(dir);
      b.owned.add(sup.pid);
      sups.push(sup);
      await until(() => p.runPid(sup.pid!, dir), `${p.name} up`, 60_000);
      b.owned.addTree(sup.pid);
      watched.push({ who: p.name, pid: sup.pid!, services: 1 });
    }
  }
  if (hosts(b)) {
    const dirs = Array.from({ length: HOSTED }, () => writeService(b.freshDir('idle-host')));
    const host = svrunHost(dirs);
    b.owned.add(host.pid);
    sups.push(host);
    for (const dir of dirs) await until(() => svkitRun(dir), 'a hosted service up', 60_000);
    b.owned.addTree(host.pid);
    watched.push({ who: 'host', pid: host.pid!, services: HOSTED });
  }
  await sleep(b.idleSettleS * 1000);
  // private memory once start-up's garbage is collected (V8 gives it back some seconds after start)
  for (const w of watched) b.samples.add('uss-idle', w.who, ussKiB(w.pid) / 1024 / w.services);
  const before = watched.map((w) => ({ ...contextSwitches(w.pid), cpu: cpuMs(w.pid) }));
  const t0 = performance.now();
  await sleep(b.idleS * 1000);
  const minutes = (performance.now() - t0) / 60_000;
  watched.forEach((w, i) => {
    const after = contextSwitches(w.pid);
    b.samples.add('wakeups', w.who, (after.voluntary - before[i]!.voluntary) / minutes);
    b.samples.add('idle-cpu', w.who, (cpuMs(w.pid) - before[i]!.cpu) / minutes);
  });
  await Promise.all(sups.map(stopped));
  b.owned.killAll();
};

/** What svkit alone measures (its own guarantees, svctl's reactions), in both modes; the logging rows' texts. */
export const svkitOnly = async (b: Bench): Promise<{ id: string; svkit: string; host: string }[]> => {
  const modes = hosts(b)
    ? ([
        ['svkit', false],
        ['host', true],
      ] as const)
    : ([['svkit', false]] as const);
  const rows: { id: string; svkit: string; host: string }[] = [];
  for (const mode of ['builtin', 'subservice'] as const) {
    const row = { id: `log-${mode}`, svkit: '-', host: '-' };
    for (const [who, hosted] of modes) {
      const f = await logThroughput(b.freshDir('log'), mode, b.lines, b.owned, hosted);
      row[who] =
        `${Math.round(f.linesPerSecond).toLocaleString('en')} lines/s, ${f.lost} lost, svrun CPU ${(f.svrunCpuMsPerMillion / 1000).toFixed(2)} s per million lines`;
    }
    rows.push(row);
  }
  for (let i = 0; i < b.fewRuns; i++) {
    for (const [who, hosted] of modes) {
      for (const cgroup of [true, false])
        b.samples.add(cgroup ? 'killed-cg' : 'killed-pg', who, await svrunKilled(b.freshDir('killed'), cgroup, b.owned, hosted));
      b.samples.add('flood-stop', who, await floodStop(b.freshDir('flood'), b.owned, hosted));
      b.samples.add('wait-up', who, await waitUp(b.freshDir('wait'), b.owned, hosted));
      b.samples.add('up-failed', who, await upFailed(b.freshDir('failed'), b.owned, hosted));
      b.samples.add('up-t500', who, await upGivesUp(b.freshDir('t500'), b.owned, hosted));
      b.samples.add('up-svrun-exits', who, await upSvrunExits(b.freshDir('exits'), b.owned, hosted));
      b.samples.add('boot-shutdown', who, await bootShutdown(b.freshDir('boot'), b.owned, hosted));
      b.samples.add('container', who, await containerFootprint(b.freshDir('container'), b.owned, hosted, b.settleMs));
    }
  }
  b.owned.killAll();
  return rows;
};
