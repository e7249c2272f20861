// One service's supervision, from its folder to its last status: validate,
// lock, clean up after a killed predecessor, then supervise until asked to
// stop. A lone `svrun DIR` runs one; a hosting svrun (svrun.ts) runs one per
// DIR in the same process, each exactly as it would run alone: nothing here
// is shared between two services but the process. Everything that can fail
// for good fails before supervision starts, with an SvError (one line per
// problem and a documented exit code). Read the walk (supervise) top down:
// it is the whole path from `svctl up` to the service's `run`.
import { removeCgroupDirs } from '../os/cgroup.js';
import { EXIT_INVALID, EXIT_LOCKED, EXIT_OK, REAPER_MARGIN_MS } from '../defaults.js';
import { errorText, SvError } from '../errors.js';
import { liveLeftovers } from '../supervise/leftovers.js';
import { stopLeftovers } from './leftoverstop.js';
import { holdLock, type Release } from '../supervise/lock.js';
import { fileSink, type LogSink, stdoutSink, terminalFd } from '../log/builtin.js';
import { eventText } from '../log/format.js';
import { type Logger, prepareLogger } from './logger.js';
import { asideText } from '../os/safefile.js';
import { keepSupervise } from './folderkeeper.js';
import { bootTimeMs } from '../os/proc.js';
import { findExecutable } from '../os/procgroup.js';
import { type Core, initialCore, letterEvent } from './state.js';
import { blankStatus, heldSettings, type ReadStatus, readStatus, type Status, writeStatus } from '../supervise/status.js';
import { Supervisor } from './supervisor.js';
import type { Containment } from '../os/procgroup.js';
import { awaitReaper, type ReaperPart } from './taskreaper.js';
import { applyServiceLimits, prepareServiceCgroups, type ServiceCgroups } from './resources.js';
import { watchFolderGone } from './foldergone.js';
import { listenSockets } from './sockets.js';
import { Reloader } from './reload.js';
import type { Want } from '../vocabulary.js';
import { type Service, type ServiceArgs, validateService } from './validated.js';

export type { ServiceArgs } from './validated.js';

/** What the process hosting a supervision shares with it (svrun.ts). */
export interface HostSide {
  /** A second Ctrl-C reached the process: waits end, services are killed at once. */
  urgent(): boolean;
  /** Several services share the process: lines shown on its terminal say whose they are. */
  several: boolean;
  /** Other services are still hosted: the process outlives this supervision, so its pid will not say it ended. */
  livesOn(): boolean;
  /** This service's part of the process's task reaper (src/supervisor/taskreaper.ts); `onError`: its log. */
  joinReaper(id: string, superviseDir: string, onError: (text: string) => void): ReaperPart;
}

/** A supervision as its host drives it. */
export interface Supervision {
  readonly name: string;
  /** The service's identity (src/os/serviceid.ts): two supervisions of one folder would share it. */
  readonly id: string;
  /** The real folder behind supervise/ (the task reaper's argv names it). */
  readonly superviseDir: string;
  /** Locks, cleans up and supervises until asked to stop; the exit code. Throws an SvError (100, 111) for what is refused first. */
  run(): Promise<number>;
  /** A stop signal to the host: stop the service, end the supervision (before supervising: start nothing). */
  terminate(): void;
  /** A second Ctrl-C: SIGKILL to the service's group at once. */
  killNow(): void;
  /** Ctrl-Z (SIGSTOP) and `fg` (SIGCONT): the service's group with its host. */
  freeze(signal: 'SIGSTOP' | 'SIGCONT'): void;
  /** An error of the host's own (uncaught): in this service's log and status.json; false while it has neither. */
  noteError(text: string): boolean;
}

/** The one mutable state of a supervision, shared by the host's signals, its lock and the supervisor. */
interface Run {
  /** From the start of supervision on. */
  supervisor: Supervisor | null;
  /** From the first process of ours on: a SIGKILL of the host leaves them to it. */
  reaper: ReaperPart | null;
  /** The service's log, once opened. */
  log: LogSink | null;
  /** A stop signal arrived (or the folder went): before supervision, start nothing. */
  terminated: boolean;
  /** Another live supervisor took our lock: exit 100 once stopped. */
  yielded: boolean;
  release: Release;
}

/** What a supervision writes to: the service's log, its logger if it has one, the containment of its processes and its cgroups. */
interface Io {
  logger: Logger | null;
  log: LogSink;
  containment: Containment;
  cgroups: ServiceCgroups;
}

/** One of svrun's `error: TEXT` events in the service's log (src/log/format.ts). */
const logError = (log: LogSink, text: string): void => log.line('svrun', eventText({ kind: 'error', text }));

const noteError = (run: Run) => (text: string) => run.supervisor?.noteError(text);

/** Validates DIR (throws exit 111 naming the file at fault) and returns its supervision, not started. */
export const prepareSupervision = (args: ServiceArgs, host: HostSide): Supervision => {
  const svc = validateService(args);
  const run: Run = { supervisor: null, reaper: null, log: null, terminated: false, yielded: false, release: async () => {} };
  const terminate = () => {
    run.terminated = true;
    run.supervisor?.dispatch({ type: 'terminate', at: Date.now() });
  };
  return {
    name: svc.def.name,
    id: svc.leftoverScope.id,
    superviseDir: svc.superviseDir,
    run: () => supervise(svc, run, host, terminate),
    terminate,
    killNow: () => run.supervisor?.dispatch({ type: 'kill-now', at: Date.now() }),
    freeze: (signal) => run.supervisor?.freezeGroup(signal),
    noteError: (text) => {
      if (run.supervisor) run.supervisor.noteError(text);
      else if (run.log) logError(run.log, text);
      return run.log !== null;
    },
  };
};

/** The walk, and then the held supervise/ let go: a host lives on, its descriptors must not pile up. */
const supervise = async (svc: Service, run: Run, host: HostSide, terminate: () => void): Promise<number> => {
  try {
    return await walk(svc, run, host, terminate);
  } finally {
    svc.held.close();
  }
};

/**
 * The walk, one step per call: the exit code once the service is stopped,
 * or an SvError (100, 111) for what is refused before supervision starts.
 */
const walk = async (svc: Service, run: Run, host: HostSide, terminate: () => void): Promise<number> => {
  const claimed = await lock(svc, run);
  // a killed predecessor's task reaper may still be stopping the old run: let it finish, bounded
  await awaitReaper(svc.paths.supervise, svc.leftoverScope.id, 2 * svc.def.timeoutKillMs + REAPER_MARGIN_MS, host.urgent);
  const io = await prepareIo(svc, run, claimed.prev, host);
  for (const note of claimed.notes) logError(io.log, note);
  const old = claimed.prev.kind === 'ok' ? claimed.prev.status : null;
  if (!(await clearLeftovers(svc, run, io, old, host))) {
    await tearDown(svc, run, io, host);
    return EXIT_OK;
  }
  const unwatch = watchFolderGone(svc.def.dir, () => {
    logError(io.log, `${svc.def.dir} removed: stopping`);
    terminate();
  });
  const code = await runSupervisor(svc, run, io, claimed.startCore, host);
  unwatch();
  await tearDown(svc, run, io, host);
  return run.yielded ? EXIT_LOCKED : code;
};

/**
 * Takes supervise/lock for good (src/supervise/lock.ts) and claims
 * status.json. The old status is read under the lock: only then is it the
 * last word of the previous supervisor. Throws exit 100 when another
 * supervisor holds it, 111 when it cannot be taken.
 */
const lock = async (svc: Service, run: Run): Promise<{ prev: ReadStatus; startCore: Core; notes: readonly string[] }> => {
  const { def, paths, args, me } = svc;
  let prev: ReadStatus = { kind: 'missing' };
  const notes: string[] = [];
  let startCore: Core = initialCore(args.want, Date.now());
  const claim = () => {
    prev = readStatus(paths.status);
    const old = prev.kind === 'ok' ? prev.status : null;
    startCore = def.type === 'oneshot' ? oneshotCore(old, args.want) : initialCore(args.want, Date.now());
    // the old run's pid and cgroup stay on record until its leftovers are gone;
    // what status.json names counts only once /proc or the cgroup proves it
    const leftovers = liveLeftovers(old, svc.leftoverScope);
    writeStatus(
      paths.status,
      {
        ...(old ?? blankStatus(def.name, def.type)),
        supervisor: me,
        want: args.want,
        state: leftovers ? 'stopping' : startCore.state,
        since: new Date().toISOString(),
        settings: heldSettings(def),
      },
      (m) => notes.push(asideText('supervise', m)),
    );
  };
  const held = await holdLock({
    folder: def.dir,
    dir: paths.supervise,
    lockPath: paths.lock,
    owner: () => {
      const r = readStatus(paths.status);
      return r.kind === 'ok' ? r.status.supervisor : null;
    },
    claim,
    reclaim: () => run.supervisor?.persist(),
    onError: noteError(run),
    onLost: () => {
      run.yielded = true;
      run.supervisor?.dispatch({ type: 'terminate', at: Date.now() });
    },
  }).catch((err: unknown) => {
    throw new SvError('svkit.invalid', EXIT_INVALID, `${def.name}/supervise/lock: ${errorText(err)}`);
  });
  if (!held.ok) throw new SvError('svkit.locked', EXIT_LOCKED, `${def.name} is already supervised by pid ${held.holder ?? '(unknown)'}`);
  run.release = held.release;
  return { prev, startCore, notes: [...(held.notes ?? []), ...notes] };
};

/**
 * The service's log (its `log/` subservice's pipe, stdout, or the built-in
 * log files) and the containment of its processes. A `log/` that cannot be
 * set up throws (exit 111), the lock released.
 */
const prepareIo = async (svc: Service, run: Run, prev: ReadStatus, host: HostSide): Promise<Io> => {
  const { def, paths, args, me } = svc;
  const setpriv = findExecutable('setpriv');
  let logger: Logger | null = null;
  try {
    if (def.logRun) {
      logger = prepareLogger({
        def,
        superviseDir: paths.supervise,
        me,
        identity: svc.identity,
        setpriv,
        onError: noteError(run),
        onChange: () => run.supervisor?.persist(),
        onTarget: (t) => run.reaper?.tell('log', t),
      });
    }
  } catch (err) {
    await run.release(host.livesOn() ? () => endRecord(svc) : undefined).catch(() => {});
    throw new SvError('svkit.invalid', EXIT_INVALID, `${def.name}/log/supervise: ${errorText(err)}`);
  }
  const echoName = host.several ? def.name : null;
  const log: LogSink = logger
    ? logger.pipe.sink
    : args.logMode === 'stdout'
      ? stdoutSink(def.name, args.logWidth, noteError(run), args.logColor)
      : fileSink(paths.logDir, noteError(run), def.logRotation, () => run.supervisor?.resolveError('log: '), terminalFd(), echoName);
  run.log = log;
  if (prev.kind === 'corrupt') logError(log, `status: unreadable status.json replaced (${prev.reason})`);
  if (def.user !== null && !svc.isRoot)
    logError(log, `user: svrun is not root; ${def.user} ignored, the service runs as uid ${process.getuid?.()}`);

  const cgroups = prepareServiceCgroups(def);
  const containment = { ...cgroups.containment, setpriv };
  if (!containment.setpriv) logError(log, 'setpriv not found: no parent-death signal for the service');
  return { logger, log, containment, cgroups };
};

/**
 * Stops what a killed predecessor left running. False when a stop signal
 * came while leftovers that may not be killed (timeout-kill 0) still run:
 * they stay on record for the next supervisor, and nothing is started.
 */
const clearLeftovers = async (svc: Service, run: Run, io: Io, old: Status | null, host: HostSide): Promise<boolean> => {
  const { def, paths, me } = svc;
  const gone = await stopLeftovers(old, {
    service: svc.leftoverScope,
    downSignal: def.downSignal,
    timeoutKillMs: def.timeoutKillMs,
    log: (t) => io.log.line('svrun', t),
    urgent: host.urgent,
    stopRequested: () => run.terminated,
  });
  if (gone || !run.terminated) return true;
  writeStatus(paths.status, {
    ...(old ?? blankStatus(def.name, def.type)),
    supervisor: me,
    want: 'down',
    state: 'down',
    since: new Date().toISOString(),
    lastError: 'leftovers: still running, never killed (timeout-kill 0)',
  });
  return false;
};

/** Runs the state machine's interpreter, told by the control FIFO and the host's signals, until asked to stop; its exit code. */
const runSupervisor = async (svc: Service, run: Run, io: Io, startCore: Core, host: HostSide): Promise<number> => {
  const { def, paths, me } = svc;
  // limits once the old run is gone: a lower memory limit is refused while its memory is in use
  const limits = applyServiceLimits(def, io.cgroups, (t) => logError(io.log, t));
  // from here on processes of ours run: a SIGKILL of svrun leaves them to the reaper
  run.reaper = host.joinReaper(svc.leftoverScope.id, paths.supervise, (t) => logError(io.log, t));
  // the logger first, so that nothing the service writes waits long
  await io.logger?.start();
  const core = run.terminated ? { ...startCore, want: startCore.state === 'up' ? startCore.want : 'down' } : startCore;
  const sockets = listenSockets(def);
  const reloader = new Reloader(def, svc.identity, {
    ...{ isRoot: svc.isRoot, cgroups: io.cgroups, log: io.log, sockets, supervisor: () => run.supervisor },
    ...{ nofile: limits.nofile, limits: limits.status },
  });
  const supervisor = new Supervisor({
    def,
    paths,
    containment: { ...io.containment, nofile: limits.nofile },
    log: io.log,
    supervisorId: me,
    core,
    identity: svc.identity,
    io: {
      ...(io.logger && { output: io.logger.pipe.serviceOut, logStatus: io.logger.summary }),
      onTarget: (t) => run.reaper?.tell('run', t),
      limits: limits.status,
      oomKills: io.cgroups.oomKills,
      sockets,
      standby: true,
      // a oneshot's svrun is a transaction, over before a reload could matter
      ...(def.type === 'longrun' && { reload: () => reloader.reload() }),
    },
  });
  run.supervisor = supervisor;
  // the control FIFO read; it and supervise/ put right when moved or replaced, said in the log
  const control = keepSupervise(svc.held, paths.control, {
    ...{ onLetter: (letter) => supervisor.dispatch(letterEvent(letter, Date.now())), say: (text) => logError(io.log, text) },
    ...{ failed: (text) => supervisor.noteError(text), restored: () => supervisor.persist(true) },
  });
  supervisor.persist();
  const running = supervisor.run();
  if (run.terminated) supervisor.dispatch({ type: 'terminate', at: Date.now() });
  const code = await running;
  control.close();
  sockets.close();
  return code;
};

/**
 * Everything stopped: the log closed, the last status written, the reaper
 * dismissed, the cgroup removed, the lock let go. A host that lives on
 * with other services says, as it lets go, that it no longer supervises
 * this one (status.json names no supervisor); a process that is about to
 * exit says so by exiting, as a lone svrun always has.
 */
const tearDown = async (svc: Service, run: Run, io: Io, host: HostSide): Promise<void> => {
  // the logger last, so that the service's last lines are logged (it closes the pipe)
  if (io.logger) await io.logger.stop();
  else await io.log.close();
  run.supervisor?.persist();
  // everything is stopped: the reaper forgets the service (and leaves once svrun's last service ended)
  run.reaper?.dismiss();
  // the cgroup goes before the lock: a successor must not find it half removed
  if (run.supervisor) removeCgroupDirs(io.cgroups.dirs);
  const supervisor = run.supervisor;
  const last = host.livesOn() ? () => (supervisor ? supervisor.ended() : endRecord(svc)) : undefined;
  await run.release(last).catch(() => {});
};

/** status.json, when it still names this supervision, says it is over (no Supervisor wrote it last). */
const endRecord = (svc: Service): void => {
  const r = readStatus(svc.paths.status);
  const s = r.kind === 'ok' ? r.status.supervisor : null;
  if (r.kind !== 'ok' || s?.pid !== svc.me.pid || s.startedAt !== svc.me.startedAt) return;
  try {
    writeStatus(svc.paths.status, { ...r.status, supervisor: null });
  } catch {
    /* the folder is gone: nothing names us */
  }
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
  return {
    ...core,
    state: 'up',
    since: Date.parse(old.since),
    startedAt: ms(old.startedAt),
    readyAt: ms(old.readyAt),
    lastExit: old.lastExit,
  };
};
