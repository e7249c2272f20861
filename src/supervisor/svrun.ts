// svrun DIR: validate, lock, clean up after a killed predecessor, then
// supervise until asked to stop. Everything that can fail for good fails
// here, before supervision starts, with one line and a documented exit code.
import { cgroupPath, removeCgroupDirs } from '../os/cgroup.js';
import { type ControlReader, openControl } from '../control.js';
import { EXIT_INVALID, EXIT_LOCKED, EXIT_OK, EXIT_USAGE, REAPER_MARGIN_MS } from '../defaults.js';
import { errorText, oneLine } from '../errors.js';
import { liveLeftovers, stopLeftovers } from './leftovers.js';
import { acquireLock } from './lock.js';
import { fileSink, type Sink, stdoutSink } from '../log/builtin.js';
import { prepareLogger } from '../log/logger.js';
import { pathsIn, servicePaths } from '../paths.js';
import { ensureStateDir } from '../os/safefile.js';
import { bootTimeMs, procStartTime } from '../os/proc.js';
import { type Identity, resolveIdentity } from '../os/identity.js';
import { findExecutable } from '../os/procgroup.js';
import { readService } from '../servicedir.js';
import { type Core, initialCore } from './state.js';
import { heldSettings, type ReadStatus, readStatus, type Status, type Want, writeStatus } from '../statusfile.js';
import { Supervisor } from './interpreter.js';
import { awaitReaper, TaskReaper } from './taskreaper.js';
import { applyServiceLimits, prepareServiceCgroups } from './resources.js';

export const USAGE = 'usage: svrun [--log file|stdout] [--log-width N] [--want up|once|down] DIR';

const LETTER_SIGNALS: Record<string, NodeJS.Signals> = {
  t: 'SIGTERM', h: 'SIGHUP', i: 'SIGINT', q: 'SIGQUIT', '1': 'SIGUSR1', '2': 'SIGUSR2',
  a: 'SIGALRM', w: 'SIGWINCH', p: 'SIGSTOP', c: 'SIGCONT', k: 'SIGKILL',
};

export interface SvrunArgs {
  dir: string;
  logMode: 'file' | 'stdout';
  /** What to do once supervising: svctl passes `once` for `svctl once`. */
  want: Want;
  /** --log stdout: pad the name to this width (svctl boot passes the longest name's). */
  logWidth: number;
}

export const parseArgs = (argv: string[]): SvrunArgs | string => {
  let logMode: SvrunArgs['logMode'] = 'file';
  let want: Want = 'up';
  let logWidth = 0;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [opt, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (opt === '--log') {
      const v = inline ?? argv[++i];
      if (v !== 'file' && v !== 'stdout') return `--log expects file or stdout, got "${v ?? ''}"`;
      logMode = v;
    } else if (opt === '--log-width') {
      const v = inline ?? argv[++i] ?? '';
      if (!/^\d{1,3}$/.test(v)) return `--log-width expects a number up to 999, got "${v}"`;
      logWidth = Number(v);
    } else if (opt === '--want') {
      const v = inline ?? argv[++i];
      if (v !== 'up' && v !== 'once' && v !== 'down') return `--want expects up, once or down, got "${v ?? ''}"`;
      want = v;
    } else if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    } else if (a.startsWith('-') && a !== '-') return `unknown option "${a}"`;
    else rest.push(a);
  }
  if (rest.length !== 1) return rest.length === 0 ? 'missing DIR' : `expected one DIR, got ${rest.length}`;
  return { dir: rest[0]!, logMode, want, logWidth };
};

/** Prints one line per error (one line whatever it quotes), prefixed `svrun: `, and returns `code`. */
const fail = (code: number, ...lines: string[]): number => {
  for (const l of lines) process.stderr.write(`svrun: ${oneLine(l)}\n`);
  return code;
};

export const svrun = async (argv: string[]): Promise<number> => {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }
  const args = parseArgs(argv);
  if (typeof args === 'string') return fail(EXIT_USAGE, `${args} (${USAGE})`);
  const read = readService(args.dir);
  if (!read.ok) return fail(EXIT_INVALID, ...read.errors);
  const def = read.def;
  if (def.template) return fail(EXIT_INVALID, `${def.name}: a template is never started itself; start an instance (${def.name}NAME)`);

  const isRoot = process.getuid?.() === 0;
  let identity: Identity | null = null;
  if (def.user !== null && isRoot) {
    const id = resolveIdentity(def.user);
    if (typeof id === 'string') return fail(EXIT_INVALID, `${def.name}/user: ${id}`);
    identity = id;
  }

  // supervise/ and the built-in logger's log/: real folders, or symlinks svrun's own user made
  // to a folder only it may write (src/os/safefile.ts); resolved once, so later swaps redirect nothing
  let paths = servicePaths(def.dir, def.name);
  const fileLog = !def.logRun && args.logMode === 'file';
  const folders: [string, string][] = [['supervise', paths.supervise], ...(fileLog ? [['log', paths.logDir] as [string, string]] : [])];
  const resolved: string[] = [];
  for (const [what, dir] of folders) {
    try {
      resolved.push(ensureStateDir(dir));
    } catch (err) {
      return fail(EXIT_INVALID, `${def.name}/${what}: ${errorText(err)}`);
    }
  }
  paths = pathsIn(resolved[0]!, resolved[1] ?? paths.logDir);

  // who the old run's processes are, by what svkit itself would have made (never by status.json)
  const service = { name: def.name, cgroup: cgroupPath(def.name, paths.supervise) };
  const me = { pid: process.pid, pidStart: procStartTime(process.pid), startedAt: new Date().toISOString() };
  let supervisor: Supervisor | null = null;
  const noteError = (t: string) => supervisor?.noteError(t);

  // The old status is read under the lock: only then is it the last word of the previous supervisor.
  const prev: { read: ReadStatus } = { read: { kind: 'missing' } };
  let startCore: Core = initialCore(args.want, Date.now());
  const currentOwner = () => {
    const r = readStatus(paths.status);
    return r.kind === 'ok' ? r.status.supervisor : null;
  };
  const lockOptions = {
    dir: paths.supervise,
    lockPath: paths.lock,
    owner: currentOwner,
    onCompromised: (err: Error) => {
      noteError(`lock: ${errorText(err)}`);
      void relock();
    },
  };
  // signals are handled from before the claim: once status.json names us, while we wait for a
  // predecessor's reaper too (a second Ctrl-C: kill at once)
  let terminated = false;
  let interrupts = 0;
  const onStop = (sig: NodeJS.Signals) => {
    if (sig === 'SIGINT' && ++interrupts > 1) return supervisor?.dispatch({ type: 'kill-now', at: Date.now() });
    terminated = true;
    supervisor?.dispatch({ type: 'terminate', at: Date.now() });
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, onStop);
  process.on('SIGTSTP', () => {
    supervisor?.freezeGroup('SIGSTOP');
    process.kill(process.pid, 'SIGSTOP');
  });
  process.on('SIGCONT', () => supervisor?.freezeGroup('SIGCONT'));
  const lock = await acquireLock({
    ...lockOptions,
    claim: () => {
      prev.read = readStatus(paths.status);
      const old = prev.read.kind === 'ok' ? prev.read.status : null;
      startCore = def.type === 'oneshot' ? oneshotCore(old, args.want) : initialCore(args.want, Date.now());
      // the old run's pid and cgroup stay on record until its leftovers are gone;
      // what status.json names counts only once /proc or the cgroup proves it
      const leftovers = liveLeftovers(old, service);
      writeStatus(paths.status, {
        ...(old ?? blankStatus(def.name, def.type)),
        supervisor: me,
        want: args.want,
        state: leftovers ? 'stopping' : startCore.state,
        since: new Date().toISOString(),
        settings: heldSettings(def),
      });
    },
  }).catch((err: unknown) => ({ ok: false as const, holder: null, error: errorText(err) }));
  if (!lock.ok) {
    if ('error' in lock) return fail(EXIT_INVALID, `${def.name}/supervise/lock: ${lock.error}`);
    return fail(EXIT_LOCKED, `${def.name} is already supervised by pid ${lock.holder ?? '(unknown)'}`);
  }
  let release = lock.release;
  let yielded = false;
  const relock = async () => {
    // a compromised lock (removed behind our back) is taken back, never fatal;
    // but if another live supervisor holds it now, one of us must go: we do
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const again = await acquireLock({ ...lockOptions, claim: () => supervisor?.persist() }).catch(() => null);
      if (again?.ok) {
        release = again.release;
        return;
      }
      if (again && !again.ok && again.holder !== null && again.holder !== process.pid) {
        noteError(`lock: now held by pid ${again.holder}: stopping`);
        yielded = true;
        release = async () => {};
        supervisor?.dispatch({ type: 'terminate', at: Date.now() });
        return;
      }
    }
  };
  // a killed predecessor's task reaper may still be stopping the old run: let it finish, bounded
  await awaitReaper(paths.supervise, 2 * def.timeoutKillMs + REAPER_MARGIN_MS, () => interrupts > 1);
  let reaper: TaskReaper | null = null;
  const oldRead = prev.read;
  const old = oldRead.kind === 'ok' ? oldRead.status : null;

  const setpriv = findExecutable('setpriv');
  let logger: ReturnType<typeof prepareLogger> | null = null;
  try {
    if (def.logRun) logger = prepareLogger(def, paths.supervise, me, identity, setpriv, noteError, () => supervisor?.persist(), (t) => reaper?.tell('log', t));
  } catch (err) {
    await release().catch(() => {});
    return fail(EXIT_INVALID, `${def.name}/log/supervise: ${errorText(err)}`);
  }
  const log: Sink = logger
    ? logger.pipe.sink
    : args.logMode === 'stdout'
      ? stdoutSink(def.name, args.logWidth, noteError)
      : fileSink(paths.logDir, noteError, def.logRotation, () => supervisor?.resolveError('log: '));
  if (oldRead.kind === 'corrupt') log.line('svrun', `error: status: unreadable status.json replaced (${oldRead.reason})`);
  if (def.user !== null && !isRoot) log.line('svrun', `error: user: svrun is not root; ${def.user} ignored, the service runs as uid ${process.getuid?.()}`);

  const cgroups = prepareServiceCgroups(def, paths.supervise);
  const containment = { ...cgroups.containment, setpriv };
  if (!containment.setpriv) log.line('svrun', 'error: setpriv not found: no parent-death signal for the service');

  const leftoversGone = await stopLeftovers(old, {
    service,
    downSignal: def.downSignal,
    timeoutKillMs: def.timeoutKillMs,
    log: (t) => log.line('svrun', t),
    urgent: () => interrupts > 1,
    stopRequested: () => terminated,
  });
  if (!leftoversGone && terminated) {
    // stopped while leftovers that may not be killed (timeout-kill 0) still run:
    // keep them on record for the next supervisor, start nothing, exit
    writeStatus(paths.status, {
      ...(old ?? blankStatus(def.name, def.type)),
      supervisor: me, want: 'down', state: 'down', since: new Date().toISOString(),
      lastError: 'leftovers: still running, never killed (timeout-kill 0)',
    });
    if (logger) await logger.stop();
    else await log.close();
    await release().catch(() => {});
    return EXIT_OK;
  }

  // limits once the old run is gone: a lower memory limit is refused while its memory is in use
  const limits = applyServiceLimits(def, cgroups, (t) => log.line('svrun', t));
  const serviceContainment = { ...containment, nofile: limits.nofile };

  // from here on processes of ours run: a SIGKILL of svrun leaves them to the reaper
  reaper = new TaskReaper(paths.supervise, (t) => log.line('svrun', `error: ${t}`));
  // the logger first, so that nothing the service writes waits long
  await logger?.start();
  const core = terminated ? { ...startCore, want: startCore.state === 'up' ? startCore.want : 'down' } : startCore;
  supervisor = new Supervisor(def, paths, serviceContainment, log, me, core, identity, {
    ...(logger && { output: logger.pipe.serviceOut, logStatus: logger.summary }),
    onTarget: (t) => reaper?.tell('run', t),
    limits: limits.status,
    oomKills: cgroups.oomKills,
  });
  process.on('uncaughtException', (err) => noteError(`internal: ${errorText(err)}`));
  let control: ControlReader | null = null;
  try {
    control = openControl(paths.control, (letter) => {
      const at = Date.now();
      const signal = LETTER_SIGNALS[letter];
      if (signal) supervisor?.dispatch({ type: 'send', signal, at });
      else supervisor?.dispatch({ type: 'command', cmd: letter as 'u' | 'd' | 'o' | 'x', at });
    });
  } catch (err) {
    supervisor.noteError(`control: ${errorText(err)}`);
  }
  supervisor.persist();
  const running = supervisor.run();
  if (terminated) supervisor.dispatch({ type: 'terminate', at: Date.now() });
  const code = await running;

  control?.close();
  // the logger last, so that the service's last lines are logged (it closes the pipe)
  if (logger) await logger.stop();
  else await log.close();
  supervisor.persist();
  // everything is stopped: dismiss the reaper (it leaves without touching anything)
  await reaper.dismiss();
  // the cgroup goes before the lock: a successor must not find it half removed
  removeCgroupDirs(cgroups.dirs);
  await release().catch(() => {});
  return yielded ? EXIT_LOCKED : code;
};

/**
 * A oneshot's svrun is a transaction that exits when done: it starts from
 * the state on disk, which says whether the oneshot's effect holds (`up`
 * since this boot: a reboot undoes what a oneshot did).
 */
const oneshotCore = (old: Status | null, want: Want): Core => {
  const core = { ...initialCore(want, Date.now()), exiting: true };
  if (old?.type !== 'oneshot' || old.state !== 'up' || Date.parse(old.since) < bootTimeMs()) return core;
  const ms = (t: string | null) => (t === null ? null : Date.parse(t));
  return { ...core, state: 'up', since: Date.parse(old.since), startedAt: ms(old.startedAt), readyAt: ms(old.readyAt), lastExit: old.lastExit };
};

const blankStatus = (name: string, type: Status['type']): Status => ({
  version: 1, name, type, supervisor: null, want: 'up', state: 'down', since: new Date().toISOString(),
  pid: null, pidStart: null, startedAt: null, readyAt: null, restarts: 0, lastExit: null, log: null,
  nextStartAt: null, lastError: null, cgroup: null,
});
