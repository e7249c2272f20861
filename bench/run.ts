// npm run bench: what one svrun costs and how fast it reacts, on real
// processes. Prints one line per measure (median and spread of N runs).
// Timing goals live here, never in the tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SVRUN = join(ROOT, 'dist/cmd/svrun.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

const readJson = (file: string): { state?: string; pid?: number | null } | null => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
};
const until = async <T>(fn: () => T | null | undefined | false, ms = 10_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('bench: timed out');
    await sleep(1);
  }
};
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(1)}  p10 ${q(0.1).toFixed(1)}  p90 ${q(0.9).toFixed(1)}  (n=${s.length})`;
};
const pssKiB = (pid: number): number => {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) : NaN;
};

const base = mkdtempSync(join(tmpdir(), 'svkit-bench-'));
const service = (name: string, body: string): string => {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run'), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, 'run'), 0o755);
  return dir;
};
const children: ChildProcess[] = [];
const startSvrun = (dir: string) => {
  const c = spawn(process.execPath, [SVRUN, dir], { stdio: 'ignore' });
  children.push(c);
  return c;
};
const stopSvrun = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGTERM'))));

const main = async () => {
  console.log(`svkit bench (node ${process.version}, ${RUNS} runs each)`);

  // 1. startup: spawn of svrun to status.json "up", and to svrun's exit after SIGTERM
  const toUp: number[] = [];
  const toDown: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = service(`start${i}`, 'exec sleep 1000');
    const t0 = performance.now();
    const c = startSvrun(dir);
    await until(() => readJson(join(dir, 'supervise/status.json'))?.state === 'up');
    toUp.push(performance.now() - t0);
    const t1 = performance.now();
    await stopSvrun(c);
    toDown.push(performance.now() - t1);
  }
  console.log(`svrun start to "up" (ms):         ${stats(toUp)}`);
  console.log(`svrun SIGTERM to exit (ms):       ${stats(toDown)}`);

  // 2. restart reaction: SIGKILL of the service to the new pid in status.json
  // (the first restart after an exit, which SPEC.md wants immediate; one svrun each)
  const react: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = service(`restart${i}`, 'exec sleep 1000');
    const c = startSvrun(dir);
    const pid = await until(() => readJson(join(dir, 'supervise/status.json'))?.pid);
    await sleep(30); // let the run get past exec
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    await until(() => {
      const s = readJson(join(dir, 'supervise/status.json'));
      return s?.state === 'up' && s.pid !== pid;
    });
    react.push(performance.now() - t0);
    await stopSvrun(c);
  }
  console.log(`restart after SIGKILL (ms):       ${stats(react)}`);

  // 3. memory: PSS of an idle svrun supervising one service (several at once, as on a real machine)
  const many = Array.from({ length: 10 }, (_, i) => service(`mem${i}`, 'exec sleep 1000'));
  const sups = many.map(startSvrun);
  for (const d of many) await until(() => readJson(join(d, 'supervise/status.json'))?.state === 'up');
  await sleep(500);
  const pss = sups.map((s) => pssKiB(s.pid!) / 1024);
  console.log(`idle svrun PSS (MiB, 10 running): ${stats(pss)}`);
  const rss = sups.map((s) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${s.pid}/status`, 'utf8'))![1]) / 1024);
  console.log(`idle svrun RSS (MiB):             ${stats(rss)}`);
  // each svrun's task reaper (a sleeping /bin/sh), recorded in supervise/reaper
  const reapers = many.map((d) => Number(readFileSync(join(d, 'supervise/reaper'), 'utf8').split(' ')[0]));
  console.log(`idle task reaper PSS (KiB):       ${stats(reapers.map(pssKiB))}`);
  const reaperRss = reapers.map((p) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1]));
  console.log(`idle task reaper RSS (KiB):       ${stats(reaperRss)}`);
  await Promise.all(sups.map(stopSvrun));

  // 4. SIGKILL of svrun: how long until nothing of its service runs (the task reaper's work, nothing else started)
  const liveMembers = (pgid: number) =>
    readdirSync('/proc').some((e) => {
      try {
        const f = readFileSync(`/proc/${e}/stat`, 'latin1');
        const r = f.slice(f.lastIndexOf(')') + 2).split(' ');
        return /^\d+$/.test(e) && Number(r[2]) === pgid && r[0] !== 'Z';
      } catch {
        return false;
      }
    });
  const killRuns = Math.max(3, Math.ceil(RUNS / 3));
  for (const [what, body, tk] of [
    ['stops on TERM', 'sleep 1000 & exec sleep 1000', 7000],
    ['ignores TERM, timeout-kill 300', "trap '' TERM; sleep 1000 & exec sleep 1000", 300],
  ] as const) {
    for (const cgroup of [true, false]) {
      const gone: number[] = [];
      for (let i = 0; i < killRuns; i++) {
        const d = service(`reap-${tk}-${cgroup}-${i}`, body);
        writeFileSync(join(d, 'timeout-kill'), `${tk}\n`);
        const c = spawn(process.execPath, [SVRUN, d], { stdio: 'ignore', env: { ...process.env, ...(cgroup ? {} : { SVKIT_NO_CGROUP: '1' }) } });
        children.push(c);
        const st = await until(() => {
          const s = readJson(join(d, 'supervise/status.json')) as { state?: string; pid?: number; cgroup?: string | null } | null;
          return s?.state === 'up' && s.pid ? s : null;
        });
        await until(() => existsSync(join(d, 'supervise/reaper')));
        await sleep(50); // past the wrappers: the grandchild runs
        const t0 = performance.now();
        c.kill('SIGKILL');
        const events = st.cgroup ? join(st.cgroup, 'cgroup.events') : null;
        await until(() => (events ? !/^populated 1$/m.test(readFileSync(events, 'utf8')) : !liveMembers(st.pid!)), 30_000);
        gone.push(performance.now() - t0);
      }
      console.log(`svrun SIGKILL to service gone (ms), ${what}, ${cgroup ? 'cgroup' : 'process group'}: ${stats(gone)}`);
    }
  }

  // 5. logging throughput: a service prints LINES short lines as fast as it can
  const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
  const cpuMs = (pid: number) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'latin1').slice(readFileSync(`/proc/${pid}/stat`, 'latin1').lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in ms (USER_HZ 100)
  };
  const countLines = (file: string, re: RegExp) => {
    try {
      return readFileSync(file, 'latin1').split('\n').filter((l) => re.test(l)).length;
    } catch {
      return 0;
    }
  };
  for (const mode of ['built-in logger', 'log/ subservice (cat > file)'] as const) {
    const d = service(`flood-${mode.length}`, `seq 1 ${LINES}; exec sleep 1000`);
    let file: string;
    let re: RegExp;
    if (mode === 'built-in logger') {
      mkdirSync(join(d, 'log'));
      writeFileSync(join(d, 'log/config'), 'size 1099511627776\nkeep 1\n'); // no rotation: count every line in one file
      file = join(d, 'log/current');
      re = / out \d+$/;
    } else {
      mkdirSync(join(d, 'log'));
      writeFileSync(join(d, 'log/run'), '#!/bin/sh\nexec cat > lines.txt\n');
      chmodSync(join(d, 'log/run'), 0o755);
      file = join(d, 'log/lines.txt');
      re = /^\d+$/;
    }
    const t0 = performance.now();
    const sv = startSvrun(d);
    await until(() => readJson(join(d, 'supervise/status.json'))?.state === 'up');
    // the last line written means all are (one writer, in order)
    const tail = Buffer.alloc(32);
    await until(() => {
      try {
        const fd = openSync(file, 'r');
        const n = readSync(fd, tail, 0, 32, Math.max(0, fstatSync(fd).size - 32));
        closeSync(fd);
        return tail.subarray(0, n).toString('latin1').endsWith(`${LINES}\n`);
      } catch {
        return false;
      }
    }, 120_000);
    const ms = performance.now() - t0;
    const cpu = cpuMs(sv.pid!); // start-up included
    const got = countLines(file, re);
    console.log(
      `${mode}: ${Math.round((LINES / ms) * 1000).toLocaleString('en')} lines/s, ${LINES - got} lost of ${LINES.toLocaleString('en')}, svrun CPU ${Math.round((cpu * 1_000_000) / LINES)} ms per million lines`,
    );
    await stopSvrun(sv);
  }
};

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  });
