// The Node client library (`import { ready, heartbeat, onShutdown, … } from 'svkit'`):
// how a service written for Node takes part in its supervision. It is loaded
// into every such service, so it imports only node: built-ins and does
// nothing at import: signal handling starts on the first call of onShutdown,
// quitRequested, sleep or session, and until then Node's defaults hold.
// Invariant: once a stop is requested, the process ends either cleanly or
// with a line on stderr saying what was still running — never silently.
import { closeSync, writeSync } from 'node:fs';
import type { ListenOptions } from 'node:net';

/** Used when `$SVKIT_TIMEOUT_KILL` is missing, invalid or 0 (never SIGKILL). */
const DEFAULT_DEADLINE_MS = 5_000;
/** Margin left before svrun's SIGKILL, so the report is written in time. */
const KILL_MARGIN_MS = 500;
/** setTimeout's largest delay; longer sleeps are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The signals svrun may name in `$SVKIT_DOWN_SIGNAL` (the down-signals of docs/services.md). */
const DOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'];

/** The Error a session rejects with once shutdown has begun; `code` is `'svkit.shutdown'`. */
export class ShutdownError extends Error {
  /** Stable machine-readable code, for callers that cannot use `instanceof`. */
  readonly code = 'svkit.shutdown';

  /**
   * @param message the one-line message
   */
  constructor(message: string) {
    super(message);
    this.name = 'ShutdownError';
  }
}

interface Handler {
  readonly fn: () => void | Promise<void>;
  readonly label: string;
  readonly timeoutMs: number | undefined;
}

interface Session {
  readonly name: string;
  readonly settled: Promise<void>;
}

const handlers: Handler[] = [];
let registered = 0;
const sessions = new Set<Session>();
let sessionsUsed = false;
const sleepers = new Set<() => void>();
let installed = false;
let stopSignal: NodeJS.Signals | null = null;
let phase: 'sessions' | 'handlers' = 'sessions';
let current: Handler | null = null;
let readyDone = false;
/** The notification fd kept open after ready() for heartbeats (`$SVKIT_WATCHDOG_MS` set), else null. */
let beatFd: number | null = null;

const noop = (): void => {};
const say = (line: string): void => {
  process.stderr.write(`svkit: shutdown: ${line}\n`);
};
const errorText = (err: unknown): string => {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
};
const describe = (value: unknown): string => `\`${String(value)}\` (${typeof value})`;

/** `$SVKIT_DOWN_SIGNAL` as `SIGUSR1`, accepting `USR1` too; null when unset or not a down-signal. */
const downSignal = (): NodeJS.Signals | null => {
  const upper = (process.env.SVKIT_DOWN_SIGNAL ?? '').trim().toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return DOWN_SIGNALS.find((s) => s === name) ?? null;
};

/** The smallest `timeoutMs` given, else `$SVKIT_TIMEOUT_KILL` minus the margin, else the default. */
const deadlineMs = (): number => {
  const given = handlers.flatMap((h) => (h.timeoutMs === undefined ? [] : [h.timeoutMs]));
  if (given.length > 0) return Math.min(...given);
  const text = (process.env.SVKIT_TIMEOUT_KILL ?? '').trim();
  const kill = /^\d+$/.test(text) ? Number(text) : 0;
  // A short timeout-kill still leaves the service half of it.
  return kill > 0 ? Math.max(kill - KILL_MARGIN_MS, Math.ceil(kill / 2)) : DEFAULT_DEADLINE_MS;
};

const install = (): void => {
  if (installed) return;
  installed = true;
  const signals = new Set<NodeJS.Signals>(['SIGTERM', 'SIGINT']);
  const down = downSignal();
  if (down) signals.add(down);
  for (const signal of signals) process.on(signal, onSignal);
};

const onSignal = (signal: NodeJS.Signals): void => {
  if (stopSignal !== null) return; // a second signal does not restart anything
  stopSignal = signal;
  const started = Date.now();
  const ms = deadlineMs();
  for (const wake of [...sleepers]) wake();
  if (handlers.length === 0 && !sessionsUsed) {
    // Only sleep/quitRequested in use: the program's loop ends by itself. The
    // watchdog is unref'd, so it never keeps a finished process alive.
    setTimeout(() => {
      say(`process still running ${Date.now() - started} ms after ${signal} (nothing registered with onShutdown or session ended it)`);
      process.exit(1);
    }, ms).unref();
    return;
  }
  // Ref'd on purpose: a handler awaiting a promise that never settles must
  // not let Node exit 0 on an empty event loop before the report.
  const watchdog = setTimeout(() => overdue(Date.now() - started), ms);
  void runShutdown().then((code) => {
    clearTimeout(watchdog);
    process.exit(code);
  });
};

/** Drains the running sessions, then runs the handlers newest first; resolves with the exit code. */
const runShutdown = async (): Promise<number> => {
  await Promise.all([...sessions].map((s) => s.settled));
  phase = 'handlers';
  let code = 0;
  // pop(), not a snapshot: a handler registered meanwhile is the newest and runs next.
  for (let h = handlers.pop(); h !== undefined; h = handlers.pop()) {
    current = h;
    try {
      await h.fn();
    } catch (err) {
      say(`${h.label} failed: ${errorText(err)}`);
      code = 1;
    }
  }
  current = null;
  return code;
};

const overdue = (elapsed: number): void => {
  const still = `still running after ${elapsed} ms`;
  if (phase === 'sessions') for (const s of sessions) say(`session "${s.name}" ${still}`);
  else if (current) say(`${current.label} ${still}`);
  if (handlers.length > 0) say(`${handlers.length} onShutdown handler(s) not run`);
  process.exit(1);
};

/** `$SVKIT_WATCHDOG_MS` as a positive number of ms, else null. */
const watchdogMs = (): number | null => {
  const text = (process.env.SVKIT_WATCHDOG_MS ?? '').trim();
  return /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : null;
};

/** Writes one line to the notification fd; false when it cannot (supervisor gone, fd closed: EBADF, EPIPE). Never throws. */
const tell = (fd: number, line: string): boolean => {
  try {
    writeSync(fd, line);
    return true;
  } catch {
    return false;
  }
};

/**
 * Tells the supervisor the service is ready: writes `ready\n` to the
 * notification fd named by `$SVKIT_NOTIFY_FD` (the service's
 * `notification-fd`) and removes the variable from `process.env`, so child
 * processes do not inherit a stale fd number. Without `$SVKIT_WATCHDOG_MS`
 * it then closes the fd. With it (the service has a `watchdog`), the fd stays
 * open for heartbeat(), and one is sent every third of `$SVKIT_WATCHDOG_MS`
 * from an unref'd timer: a service whose event loop is blocked stops sending
 * them and is restarted, and the timer never keeps a finished process alive.
 * Only the first call does anything; without `$SVKIT_NOTIFY_FD` (not
 * supervised, or no `notification-fd`) it is a no-op. Never throws: a closed
 * or broken fd (EBADF, EPIPE) is ignored.
 * @returns nothing
 */
export const ready = (): void => {
  const text = process.env.SVKIT_NOTIFY_FD;
  if (readyDone || text === undefined) return;
  readyDone = true;
  delete process.env.SVKIT_NOTIFY_FD;
  if (!/^\d+$/.test(text.trim())) return;
  const fd = Number(text);
  if (fd < 3) return; // never stdin, stdout or stderr
  const sent = tell(fd, 'ready\n');
  const every = watchdogMs();
  if (sent && every !== null) {
    beatFd = fd;
    setInterval(heartbeat, Math.max(1, Math.floor(every / 3))).unref();
    return;
  }
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
};

/**
 * Tells the supervisor the service is still working (its `watchdog`):
 * writes `heartbeat\n` to the notification fd. Call it from the work whose
 * progress matters (a job loop) when the automatic heartbeats of ready() are
 * not proof enough. A no-op before ready() (a line before readiness would
 * announce readiness), without a notification fd, or without
 * `$SVKIT_WATCHDOG_MS` (ready() closed the fd then). Never throws.
 * @returns nothing
 */
export const heartbeat = (): void => {
  if (beatFd === null) return;
  // the supervisor is gone (EPIPE) or the fd was closed by someone else: nobody listens any more
  if (!tell(beatFd, 'heartbeat\n')) beatFd = null;
};

/**
 * Registers graceful-shutdown work. On the first SIGTERM, SIGINT or
 * `$SVKIT_DOWN_SIGNAL`, once running sessions have ended, handlers run one
 * at a time, newest first, each awaited; then the process exits 0. A handler
 * that throws is reported on stderr and the others still run; the exit code
 * is then 1. If everything is not done by the deadline, the process exits 1
 * naming what was still running. The deadline is the smallest `timeoutMs`
 * given to any handler, else `$SVKIT_TIMEOUT_KILL` minus 500 ms, else 5000 ms.
 * @param fn the work; its name (or `handler #N`, N counting registrations from 1) appears in reports
 * @param opts `timeoutMs`: a deadline for the whole shutdown, in ms (the smallest given wins)
 * @returns nothing
 * @throws {TypeError} when `fn` is not a function or `timeoutMs` is not a positive number
 */
export const onShutdown = (fn: () => void | Promise<void>, opts: { timeoutMs?: number } = {}): void => {
  if (typeof fn !== 'function') throw new TypeError(`Expected a function, got ${describe(fn)}`);
  const { timeoutMs } = opts;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new TypeError(`Expected the \`timeoutMs\` option to be a positive number of milliseconds, got ${describe(timeoutMs)}`);
  }
  install();
  registered += 1;
  handlers.push({ fn, label: fn.name ? `handler "${fn.name}"` : `handler #${registered}`, timeoutMs });
};

/**
 * Whether a stop was requested (SIGTERM, SIGINT or `$SVKIT_DOWN_SIGNAL`).
 * The first call installs the signal handling. When no onShutdown handler is
 * registered and session() was never used, the library does not exit the
 * process on a stop: the program is expected to see this turn true and end.
 * @returns true once a stop was requested
 */
export const quitRequested = (): boolean => {
  install();
  return stopSignal !== null;
};

/**
 * Waits `ms` milliseconds, or less if a stop is requested meanwhile. A stop
 * clears the timer, so a pending sleep never keeps a stopping process alive.
 * The first call installs the signal handling (see quitRequested).
 * @param ms how long to wait, in ms (`Infinity`: until a stop)
 * @returns a promise of true after `ms`, or false as soon as a stop is requested (at once if one already was)
 */
export const sleep = (ms: number): Promise<boolean> => {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    return Promise.reject(new TypeError(`Expected \`ms\` to be a non-negative number, got ${describe(ms)}`));
  }
  install();
  if (stopSignal !== null) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    let left = ms;
    let timer: NodeJS.Timeout | undefined;
    const end = (value: boolean): void => {
      clearTimeout(timer);
      sleepers.delete(stop);
      resolve(value);
    };
    const stop = (): void => end(false);
    const arm = (): void => {
      const step = Math.min(left, MAX_TIMER_MS);
      left -= step;
      timer = setTimeout(() => (left > 0 ? arm() : end(true)), step);
    };
    sleepers.add(stop);
    arm();
  });
};

/**
 * Tracks in-flight work (a request, a job) so that a stop waits for it. On a
 * stop, new sessions are refused and running ones are awaited, until the
 * deadline (see onShutdown), before any onShutdown handler runs; sessions
 * still running then are named on stderr and the process exits 1. Once
 * session() has been used, a stop always ends the process (exit 0 when
 * everything finished in time), even with no onShutdown handler.
 * @param name what the work is, for reports (`job 42`, `GET /users`)
 * @param work the work: a function returning a promise (preferred: not called once shutdown began), or a promise
 * @returns a promise settling as the work does; rejected with a ShutdownError if shutdown has begun
 */
export const session = <T>(name: string, work: Promise<T> | (() => Promise<T>)): Promise<T> => {
  install();
  sessionsUsed = true;
  if (stopSignal !== null) {
    // A promise is already running: it is not tracked, and its rejection must not crash the shutdown.
    if (typeof work !== 'function') Promise.resolve(work).catch(noop);
    return Promise.reject(new ShutdownError(`svkit: session "${name}" refused: shutdown in progress`));
  }
  let promise: Promise<T>;
  try {
    promise = Promise.resolve(typeof work === 'function' ? work() : work);
  } catch (err) {
    promise = Promise.reject(err);
  }
  const entry: Session = { name, settled: promise.then(noop, noop) };
  sessions.add(entry);
  void entry.settled.then(() => sessions.delete(entry));
  return promise;
};

/** sd_listen_fds' SD_LISTEN_FDS_START: the first socket a supervisor hands over. */
const LISTEN_FDS_START = 3;
/** The sockets found by the first listenFds() (the variables are gone after it). */
let sockets: number[] | null = null;

/**
 * The listening sockets svrun hands the service (its `listen` file; systemd's
 * socket-activation protocol): fds 3, 4, ... in the file's order, when
 * `$LISTEN_PID` is this process and `$LISTEN_FDS` counts them; else none.
 * The first call removes `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES` from
 * `process.env` (as sd_listen_fds(1) does), so a child process never takes
 * them for its own; later calls return the same list. Never throws.
 * @returns the descriptors, in `listen`'s order ([] when not socket-activated)
 */
export const listenFds = (): number[] => {
  if (sockets !== null) return [...sockets];
  const { LISTEN_FDS: count = '', LISTEN_PID: pid = '' } = process.env;
  for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) delete process.env[k];
  const n = /^\d{1,4}$/.test(count) && pid.trim() === String(process.pid) ? Number(count) : 0;
  sockets = Array.from({ length: n }, (_, i) => LISTEN_FDS_START + i);
  return [...sockets];
};

/** What listen() needs of a server: `net.Server`, `http.Server`, `https.Server` and the like. */
export interface ListeningServer {
  listen(options: ListenOptions | { fd: number }, callback: () => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Makes `server` accept on the socket svrun holds for it (`listen`'s
 * `index`th address, default the first), so connections that arrive while
 * the service restarts wait for the next run instead of being refused.
 * Outside svkit (no such socket), it listens on `fallback` instead, so the
 * same code runs in development: a port, or Node's listen options.
 * @param server the server to start
 * @param fallback where to listen when svrun handed no socket (a port, or `{ port, host }`...)
 * @param index which of the sockets (0: the first address in `listen`)
 * @returns a promise resolved once the server listens, rejected with the server's error
 * @throws {Error} (rejected) when there is neither such a socket nor a fallback
 */
export const listen = (server: ListeningServer, fallback?: number | ListenOptions, index = 0): Promise<void> => {
  const fd = listenFds()[index];
  const options: ListenOptions | { fd: number } | null =
    fd !== undefined ? { fd } : typeof fallback === 'number' ? { port: fallback } : (fallback ?? null);
  if (options === null) return Promise.reject(new Error(`svkit: no listening socket ${index} from svrun (LISTEN_FDS) and no fallback`));
  return new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => reject(err);
    server.once('error', failed);
    server.listen(options, () => {
      server.off('error', failed);
      resolve();
    });
  });
};
