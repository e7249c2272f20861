// A service's log/ logger: `log/run`, supervised by the same svrun (its
// state in log/supervise/), reading the held pipe (src/log/pipe.ts) on its
// stdin. It starts before the service and stops after it, draining the pipe
// to EOF, so the service's last lines are logged.
import { join } from 'node:path';
import { LOG_DRAIN_MIN_MS } from '../defaults.js';
import { prepareCgroup, removeCgroup } from '../os/cgroup.js';
import { serviceScope } from '../supervise/leftovers.js';
import type { Identity } from '../os/identity.js';
import { stopLeftovers } from './leftoverstop.js';
import type { LogSink } from '../log/builtin.js';
import { type LogPipe, openLogPipe } from '../log/pipe.js';
import { pathsIn, servicePaths } from '../supervise/paths.js';
import type { Containment } from '../os/procgroup.js';
import { ensureStateDir } from '../os/safefile.js';
import type { ServiceDef } from '../servicedir.js';
import { initialCore } from './state.js';
import { readStatus, type Status } from '../supervise/status.js';
import { Supervisor } from './supervisor.js';
import type { ReapTarget } from '../supervise/reaper.js';

export interface Logger {
  pipe: LogPipe;
  supervisor: Supervisor;
  /** status.json's `log` subset. */
  summary(): Status['log'];
  /** Starts the logger process (after the service's leftovers are gone). */
  start(): Promise<void>;
  /** Lets go of the pipe, waits for the logger to drain it and exit (bounded), then stops it. */
  stop(): Promise<void>;
}

/** The logger as a service of its own: restarted always, stopped with TERM. */
const loggerDef = (def: ServiceDef): ServiceDef => ({
  ...def,
  name: `${def.name}/log`,
  dir: join(def.dir, 'log'),
  type: 'longrun',
  requires: [],
  run: def.logRun!,
  finish: null,
  stop: null,
  check: null,
  env: def.env,
  notificationFd: null,
  downSignal: 'SIGTERM',
  restart: 'always',
  logRun: null,
  // the service's health checks, watchdog and limits are the service's: the logger has none of them
  healthIntervalMs: null,
  watchdogMs: null,
  limits: { memoryMax: null, cpuMax: null, pidsMax: null, nofile: null },
});

export interface LoggerOptions {
  /** The service whose log/ this is. */
  def: ServiceDef;
  /** The service's supervise/ (where the held pipe lives). */
  superviseDir: string;
  /** The supervisor, as status.json names it. */
  me: NonNullable<Status['supervisor']>;
  identity: Identity | null;
  setpriv: string | null;
  onError: (text: string) => void;
  /** The logger's state changed: the service's status.json repeats it in `log`. */
  onChange: () => void;
  /** The logger's process group changed: its task reaper's word (src/supervisor/taskreaper.ts). */
  onTarget?: (target: ReapTarget) => void;
}

export const prepareLogger = ({ def, superviseDir, me, identity, setpriv, onError, onChange, onTarget }: LoggerOptions): Logger => {
  const stateDir = process.env.SVKIT_STATE_DIR;
  const ldef = loggerDef(def);
  const named = servicePaths(ldef.dir, 'log', stateDir ? join(stateDir, def.name) : undefined);
  // throws (svrun exits 111) on a log/supervise symlink it may not follow
  const paths = pathsIn(ensureStateDir(named.supervise), named.logDir);
  const pipe = openLogPipe(join(superviseDir, 'log-pipe'), onError);
  const containment: Containment = { cgroup: prepareCgroup(ldef.name, ldef.dir), setpriv };
  // the logger's own events (started, exited) go down the same pipe
  const events: LogSink = { ...pipe.sink, line: (_stream, text) => pipe.sink.line('svrun', `log: ${text}`) };
  let notify = () => {};
  const supervisor = new Supervisor({
    def: ldef,
    paths,
    containment,
    log: events,
    supervisorId: me,
    core: initialCore('up', Date.now()),
    identity,
    io: { stdin: pipe.loggerIn, output: 'inherit', onChange: () => notify(), ...(onTarget && { onTarget }) },
  });
  let running: Promise<number> | null = null;
  let settled = () => {};
  return {
    pipe,
    supervisor,
    summary: () => {
      const s = supervisor.status();
      return { state: s.state, pid: s.pid, pidStart: s.pidStart, restarts: s.restarts };
    },
    start: async () => {
      const old = readStatus(paths.status);
      const service = serviceScope(ldef.name, ldef.dir);
      await stopLeftovers(old.kind === 'ok' ? old.status : null, {
        service,
        downSignal: 'SIGTERM',
        timeoutKillMs: ldef.timeoutKillMs,
        log: (t) => events.line('svrun', t),
      });
      notify = () => {
        onChange();
        if (supervisor.state === 'down' || supervisor.state === 'failed') settled();
      };
      running = supervisor.run();
    },
    stop: async () => {
      if (!running) return void (await pipe.close());
      if (supervisor.state === 'up' || supervisor.state === 'starting') {
        supervisor.dispatch({ type: 'command', cmd: 'o', at: Date.now() }); // EOF is the end, not a crash
        const drained = new Promise<void>((resolve) => {
          settled = resolve;
          setTimeout(resolve, Math.max(ldef.timeoutKillMs, LOG_DRAIN_MIN_MS)); // ref'd: keep svrun alive meanwhile
        });
        await pipe.close();
        await drained;
        supervisor.dispatch({ type: 'terminate', at: Date.now() });
      } else {
        // not running (backoff, crash loop): never start it again on a pipe about to close
        supervisor.dispatch({ type: 'terminate', at: Date.now() });
        await pipe.close();
      }
      await running;
      if (containment.cgroup) removeCgroup(containment.cgroup);
    },
  };
};
