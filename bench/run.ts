// npm run bench: svkit in both modes (one svrun per service, and hosted:
// one svrun for all) side by side with the Node floor and with runit and s6
// (where installed), on real processes, in one run. Prints one table and
// writes it to docs/performance.md. Timing goals live here, never in tests.
//
// BENCH_RUNS      samples of the per-service measures (default 15; quick 5)
// BENCH_BULK_RUNS samples of the 50-service bring-up and stop (default 5; quick 2)
// BENCH_IDLE_S    seconds an idle supervisor is watched (default 60; quick 10)
// BENCH_IDLE_SETTLE_S seconds after start before it is watched (default 45; quick 45: V8's post-start GCs run until then)
// BENCH_LINES     lines of the logging measures (default 1,000,000; quick 200,000)
// BENCH_QUICK=1   all of the quick defaults; docs/performance.md is then left alone
// BENCH_WRITE=0/1 write docs/performance.md or not (default: unless quick)
// BENCH_ONLY      comma-separated steps to run (start,restart,twenty,fifty,idle,extra,rolling); default all
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Owned } from './proc.js';
import { PEERS, removeSvkitCgroups, ROOT, RUN_ARGV } from './peers.js';
import { type Goal, type Row, Samples, table, writeDoc } from './report.js';
import { type Bench, fifty, idle, restart, startAndStop, svkitOnly, twenty } from './steps.js';
import { num } from './stats.js';
import { metricsBurst } from './metrics.js';
import { type RollingFigures, rollingUnderLoad } from './rolling.js';

const QUICK = process.env.BENCH_QUICK === '1';
const envNum = (name: string, full: number, quick: number) => Number(process.env[name] ?? (QUICK ? quick : full));
const RUNS = envNum('BENCH_RUNS', 15, 5);
const BULK_RUNS = envNum('BENCH_BULK_RUNS', 5, 2);
const IDLE_S = envNum('BENCH_IDLE_S', 60, 10);
/** V8 shrinks a new process's heap for about half a minute after start-up (its memory reducer's GCs): idleness is what follows. */
const IDLE_SETTLE_S = envNum('BENCH_IDLE_SETTLE_S', 45, 45);
const LINES = envNum('BENCH_LINES', 1_000_000, 200_000);
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const WRITE = process.env.BENCH_WRITE ? process.env.BENCH_WRITE === '1' : !QUICK && !ONLY;
/** Runs one step of the bench unless BENCH_ONLY leaves it out. */
const wanted = (id: string) => !ONLY || ONLY.includes(id);

const base = mkdtempSync(join(tmpdir(), 'svkit-bench-'));
let dirs = 0;
const bench: Bench = {
  samples: new Samples(),
  owned: new Owned(),
  peers: PEERS.filter((p) => p.available),
  freshDir: (what) => join(base, `${what}-${dirs++}`),
  runs: RUNS,
  bulkRuns: BULK_RUNS,
  /** Samples of the slower svkit-only measures. */
  fewRuns: Math.max(3, Math.ceil(RUNS / 3)),
  idleS: IDLE_S,
  idleSettleS: IDLE_SETTLE_S,
  lines: LINES,
  settleMs: 2_000,
};
const step = (text: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${text}`);

/** A goal of issue 11 or 20 for one mode: at most `bound` times the floor's or runit's median, or at most `bound` in the row's unit. */
const atMost = (of: Goal['of'], bound: number, ref: 'floor' | 'runit' | string): Goal => ({
  of,
  text: ref === 'floor' || ref === 'runit' ? `≤ ${bound}x ${ref}` : `≤ ${bound} ${ref}`,
  met: (s, r) => {
    const base = ref === 'floor' ? r.floor?.median : ref === 'runit' ? r.runit?.median : 1;
    return base === undefined ? null : s.median <= bound * base;
  },
});
/** Issue 20: a restart after SIGKILL within max(2x runit, 8 ms). */
const restartGoal = (of: Goal['of']): Goal => ({
  of,
  text: '≤ max(2x runit, 8 ms)',
  met: (s, r) => (r.runit ? s.median <= Math.max(2 * r.runit.median, 8) : null),
});
const atLeast = (of: Goal['of'], bound: number, what: string): Goal => ({
  of,
  text: `≥ ${bound} ms (${what})`,
  met: (s) => s.median >= bound,
});

const ROWS: Row[] = [
  {
    id: 'restart',
    label: "restart after SIGKILL of a long-running service (new `run` exec'd)",
    unit: 'ms',
    goals: [restartGoal('svkit'), restartGoal('host')],
  },
  {
    id: 'mem20',
    label:
      'memory of supervision, 20 services: every supervisor and helper process (svkit: + task reapers; runit, s6: + their scanner), PSS',
    unit: 'MiB',
    goals: [atMost('host', 2.5, 'floor')],
  },
  {
    id: 'pss',
    label: "supervisor PSS per service, 20 running (--host: the host's twentieth)",
    unit: 'MiB',
    goals: [atMost('svkit', 1.15, 'floor')],
  },
  { id: 'uss', label: 'same, private memory only (USS: what the others running do not change)', unit: 'MiB' },
  {
    id: 'uss-idle',
    label: `same, idle supervisors ${IDLE_SETTLE_S} s after start (start-up's garbage collected; --host: a fifth of a host of 5)`,
    unit: 'MiB',
  },
  { id: 'reaper-pss', label: "+ svkit's task reaper (`sh`): one per svrun (--host: one for the 20)", unit: 'KiB' },
  {
    id: 'standby-pss',
    label: "svkit's standby (the next run waiting, `sh`): one per service, in its cgroup, not counted above",
    unit: 'KiB',
  },
  {
    id: 'up50',
    label: 'bring-up of 50 services, until all up',
    unit: 'ms',
    goals: [
      atMost('svkit', 1.25, 'floor'),
      atMost('host', 3, 'runit'),
      { of: 'host', text: '< 1500 ms (pm2)', met: (s) => s.median < 1500 },
    ],
  },
  {
    id: 'down50',
    label: 'stop-all of 50, until none of their processes is left',
    unit: 'ms',
    goals: [atMost('svkit', 250, 'ms'), atMost('host', 3, 'runit')],
  },
  { id: 'status', label: '`svctl status NAME`, one call', unit: 'ms', goals: [atMost('svkit', 1.3, 'floor')] },
  { id: 'check', label: '`svctl check` of 20, one call', unit: 'ms', goals: [atMost('svkit', 1.3, 'floor')] },
  {
    id: 'wakeups',
    label: 'idle supervisor process: wake-ups (--host: one host of 5)',
    unit: 'per min',
    goals: [atMost('svkit', 5, 'a minute'), atMost('host', 5, 'a minute')],
  },
  {
    id: 'idle-cpu',
    label: 'idle supervisor process: CPU time (--host: one host of 5)',
    unit: 'ms per min',
    goals: [atMost('svkit', 10, 'ms a minute'), atMost('host', 10, 'ms a minute')],
  },
  { id: 'start', label: 'supervisor started to service up (--host: `svrun` of 5, until all up)', unit: 'ms' },
  { id: 'stop', label: 'SIGTERM to the supervisor until it and its service are gone (--host: its 5)', unit: 'ms' },
  {
    id: 'container',
    label: '`svctl boot` with 3 services, 2 s after all are up: boot, supervisors and task reapers (everything but the services), PSS',
    unit: 'MiB',
    goals: [atMost('host', 40, 'MiB')],
  },
  { id: 'killed-cg', label: 'SIGKILL of svrun until its service is gone (task reaper), cgroup (--host: its 3)', unit: 'ms' },
  { id: 'killed-pg', label: 'same, process group only (`SVKIT_NO_CGROUP=1`)', unit: 'ms' },
  { id: 'flood-stop', label: 'SIGTERM to svrun while its service floods the log (`yes`), until svrun exited', unit: 'ms' },
  { id: 'wait-up', label: '`svctl wait up` (already watching): from `status.json` saying up to its exit', unit: 'ms' },
  { id: 'up-failed', label: '`svctl up` of a service that fails for good (exit 3, `restart never`), until it reported it', unit: 'ms' },
  {
    id: 'up-t500',
    label: '`svctl up -t 500` of a service never ready (`timeout-ready` 20 s), until it gave up',
    unit: 'ms',
    goals: [atLeast('svkit', 500, 'the -t'), atLeast('host', 500, 'the -t')],
  },
  { id: 'up-svrun-exits', label: '`svctl up` where svrun exits at once (`supervise` is a file), until it showed the error', unit: 'ms' },
  {
    id: 'boot-shutdown',
    label: '`svctl boot --shutdown-timeout 1500`, one TERM-ignoring service: SIGTERM until boot exited',
    unit: 'ms',
    goals: [atLeast('svkit', 1500, 'the timeout'), atLeast('host', 1500, 'the timeout')],
  },
];

const machine = () => {
  const cpu = cpus();
  return `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, Linux ${release()}`;
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const NOTES = `- Each cell: median (p10–p90) of the samples; ratios are of medians. Two svkit columns: "svkit", one svrun per service (\`svctl up\`, \`svrun DIR\`); "svkit --host", the same services hosted by one svrun (\`svctl up --host\`, \`svrun DIR DIR...\`). "Node floor": bare \`node\` measured the same way in the same run: \`node -e 0\` for one call, 50 concurrent \`node -e 0\` until all exited for the bring-up, 20 idle \`node -e 'setInterval(()=>{},1e9)'\` for PSS and idleness, one idle \`node\` alone for the memory of supervision. The best peer is the lower of runit and s6.
- Restart: ${'`'}run${'`'} execs \`${RUN_ARGV}\`; each sample SIGKILLs a different service that has run for over 1.5 s (no crash history; past runsv's one-second minimum between two starts; s6-supervise 2.11 waited about a second before every restart all the same) and waits until the new run is exec'd: svkit's \`status.json\` names a new pid whose argv is the run's; runit's and s6's supervisor has a new child with that argv. Polled every millisecond. --host: the services all in one svrun.
- Memory: PSS from /proc/PID/smaps_rollup, 2 s after \`up\` returned, each group running alone (so \`node\`'s shared pages are split among the group's Node processes only; other Node processes on the machine share them too, so compare within one run; USS, Private_Clean + Private_Dirty, does not depend on them). "Memory of supervision" sums every process supervision needs: svrun (or the host) and the task reapers; runsv or s6-supervise and their scanner (runsvdir, s6-svscan).
- Bring-up: svkit \`svctl up\` (\`--host\`) until it returned (all up); runit \`runsvdir\` and s6 \`s6-svscan\` started until every run is exec'd. Stop-all: \`svctl down\` until every svrun, task reaper and service is gone; \`sv down\` of all / \`s6-svc -d\` of each (a shell loop: it takes one directory) until every service is gone (their supervisors stay, as they are meant to).
- Status: \`svctl status s0\`, \`sv status DIR\`, \`s6-svstat DIR\`; check of all 20: \`svctl check\`, \`sv check\` of the 20, \`s6-svwait -u -a\` of the 20 (s6 has no check).
- Idle: 5 supervisors of each kind (--host: one host of 5 services), each with one sleeping service, watched for ${IDLE_S} s after ${IDLE_SETTLE_S} s of settling (V8 runs a few heap-shrinking GCs in a new process's first half-minute: start-up, not idleness); wake-ups are voluntary context switches of all the process's threads (/proc/PID/task/*/status), CPU is utime + stime; both per minute and per process.
- Start: \`svrun DIR\` / \`runsv DIR\` / \`s6-supervise DIR\` spawned until the service's run is exec'd (svkit: \`status.json\` says up); --host: \`svrun\` of 5 folders until all 5 are up.
- Rolling restart: \`web@\` runs a Node HTTP server on its \`listen\` socket (the client library's \`listen()\`, \`ready()\` on \`notification-fd\` 4, \`server.close()\` on SIGTERM); \`svctl scale web@ 3\`, then the bench process keeps 8 requests in flight (\`agent: false\`: a new connection each) while \`svctl restart --rolling 'web@*'\` runs; counted from its start to its exit. Refused: ECONNREFUSED; failed: any other error or a non-200 answer.
- The svkit-only rows from "SIGKILL of svrun" on, --host: the measured service shares its svrun with an idle one (three killed services for SIGKILL), svctl and boot run with --host. Container: \`svctl boot\` of three services, the PSS of boot and everything below it but the services' own processes.
- Goals: the "≤" ones without a mode are issue 11's (idle: "a few wake-ups a minute, near-zero CPU" read as ≤ 5 and ≤ 10 ms); the --host ones and the restart's are issue 20's (pm2's 1.5 s bring-up of 50 measured on this machine in issue 20's survey); the "≥" ones are what the behaviour means (the tests assert those; how little above them is the figure). The rows from "SIGTERM to svrun while its service floods" on are the wall-time bounds the tests used to assert (each "at once, not the timeout it must not wait out").`;

/** Not of either mode: svctl metrics reading 200 folders, no supervisor running. */
const burstRow = async (): Promise<Row> => {
  const burst = await metricsBurst(bench.freshDir('metrics'), bench.owned);
  const text = `${burst.answered} answered in ${num(burst.wallMs / 1000)} s (the rest refused past 256 connections); endpoint CPU ${num(burst.burstCpuMs / 1000)} s (one scrape: ${Math.round(burst.oneScrapeCpuMs)} ms)`;
  return {
    id: 'metrics-burst',
    label: '`svctl metrics --listen`, 200 services: 1,000 concurrent scrapes',
    unit: 'scrapes',
    text: { svkit: text, host: 'the same (no supervisor runs)' },
  };
};

/** Rolling restarts of a pool of 3 Node HTTP servers on one port, under load: requests served, refused and failed during each. */
const rollingRow = async (): Promise<Row> => {
  const runs: RollingFigures[] = [];
  for (let i = 0; i < bench.fewRuns; i++) runs.push(await rollingUnderLoad(bench.freshDir('rolling'), bench.owned));
  bench.owned.killAll();
  const sum = (k: 'served' | 'refused' | 'failed') => runs.reduce((n, r) => n + r[k], 0);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const served = median(runs.map((r) => r.served));
  const rollS = median(runs.map((r) => r.rollMs)) / 1000;
  return {
    id: 'rolling',
    label:
      '`svctl restart --rolling` of a pool of 3 Node HTTP servers on one port (`listen`), 8 requests in flight, each on a new connection',
    unit: `${runs.length} rolls`,
    text: {
      svkit: `${served.toLocaleString('en')} served per roll (${Math.round(served / rollS).toLocaleString('en')}/s over ${num(rollS)} s); in all ${sum('served').toLocaleString('en')} served, ${sum('refused')} refused, ${sum('failed')} failed`,
      host: '- (a rolling restart starts each supervisor on its own)',
    },
  };
};

const main = async () => {
  const started = new Date();
  const loadBefore = load();
  step(
    `svkit bench: ${machine()}; load average ${loadBefore}; ${RUNS} samples (${BULK_RUNS} for 50 services), idle ${IDLE_S} s, ${LINES} log lines${QUICK ? ', quick' : ''}`,
  );
  const absent = PEERS.filter((p) => !p.available).map(
    (p) => `${p.name}: not installed (\`apt-get install ${p.name === 'runit' ? 'runit' : 's6'}\`), skipped`,
  );
  for (const a of absent) step(a);

  const steps: [string, string, (b: Bench) => Promise<unknown>][] = [
    ['start', 'supervisor start and SIGTERM stop', startAndStop],
    ['restart', 'restart after SIGKILL', restart],
    ['twenty', '20 services: memory, status, check', twenty],
    ['fifty', '50 services: bring-up and stop-all', fifty],
    ['idle', `idle supervisors for ${IDLE_S} s`, idle],
  ];
  for (const [id, what, run] of steps) {
    if (!wanted(id)) continue;
    step(what);
    await run(bench);
  }
  let extra: Row[] = [];
  if (wanted('extra')) {
    step('svkit only: logging, SIGKILL of svrun, svctl, boot');
    const texts = await svkitOnly(bench);
    extra = texts.map((t) => ({
      id: t.id,
      label: t.id === 'log-builtin' ? 'logging, built-in logger (`log/current`)' : 'logging, `log/` subservice (`exec cat > file`)',
      unit: `${LINES.toLocaleString('en')} lines`,
      text: { svkit: t.svkit, host: t.host },
    }));
    extra.push(await burstRow());
  }
  if (wanted('rolling')) {
    step('svkit only: rolling restarts of a pool under load');
    extra.push(await rollingRow());
  }

  const seconds = Math.round((Date.now() - started.getTime()) / 1000);
  const header = [
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}.`,
    `Load average at the start ${loadBefore}, at the end ${load()}${QUICK ? '; a quick run' : ''}. ${RUNS} samples per measure (${BULK_RUNS} for 50 services; ${bench.fewRuns} for the container and the rows from SIGKILL of svrun on); the whole run took ${seconds} s.`,
    ...absent.map((a) => `${a}.`),
  ].join('\n');
  const out = `${header}\n\n${table([...ROWS, ...extra], bench.samples)}\n\n${NOTES}\n`;
  console.log(`\n${out}`);
  if (WRITE) {
    writeDoc(join(ROOT, 'docs/performance.md'), out);
    step('written to docs/performance.md');
  }
};

const cleanup = () => {
  bench.owned.killAll();
  removeSvkitCgroups();
  rmSync(base, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    cleanup();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}
main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(cleanup);
