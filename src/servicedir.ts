// Reads one service folder into a validated ServiceDef. Every problem is
// reported (one line each, naming NAME/FILE and the bad value, each problem
// once, a few per file) so that svrun and svctl can refuse bad input before
// they change anything. Files are read through src/settingsfile.ts: the
// folder is untrusted, no read blocks or grows without bound.
import { accessSync, constants, existsSync, readdirSync, type Stats, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  DEFAULT_DOWN_SIGNAL,
  DEFAULT_HEALTH_RETRIES,
  DEFAULT_HEALTH_TIMEOUT_MS,
  DEFAULT_ROTATION,
  DEFAULT_TIMEOUT_FINISH_MS,
  DEFAULT_TIMEOUT_KILL_MS,
  DEFAULT_TIMEOUT_READY_MS,
  MAX_TIMER_MS,
} from './defaults.js';
import { capProblems, printable, quote, type Result } from './errors.js';
import { ID_MAX, idInRange } from './os/identity.js';
import { fileKind } from './os/safefile.js';
import { type ListenAddress, readListen } from './listen.js';
import { readSettingsFile } from './settingsfile.js';
import { parseSize } from './sizes.js';
import { type DownSignal, parseDownSignal } from './signals.js';
import type { Limits, RestartPolicy, Rotation, ServiceType } from './vocabulary.js';

export interface ServiceDef {
  name: string;
  /** Absolute path of the service folder. */
  dir: string;
  type: ServiceType;
  requires: string[];
  /** The `down` marker: not started by a plain `svctl up`. */
  down: boolean;
  run: string;
  finish: string | null;
  stop: string | null;
  check: string | null;
  /** From env/: a value sets the variable, null unsets it. */
  env: Record<string, string | null>;
  notificationFd: number | null;
  timeoutReadyMs: number;
  timeoutKillMs: number;
  timeoutFinishMs: number;
  downSignal: DownSignal;
  restart: RestartPolicy;
  user: string | null;
  /** log/run of a logger subservice, else null (built-in logger). */
  logRun: string | null;
  /** The built-in logger's rotation, from log/config. */
  logRotation: Rotation;
  /** `worker@` is a template; `worker@3` an instance named `3`. */
  template: boolean;
  instance: string | null;
  // --- health and watchdog (docs/services.md) ---
  /** health-interval: ms between health checks once up (needs `check`); null: check only gates readiness. */
  healthIntervalMs: number | null;
  /** health-retries: failed checks in a row that make the service unhealthy. */
  healthRetries: number;
  /** health-timeout: ms one health check may run; past it, it is killed and counts as failed. */
  healthTimeoutMs: number;
  /** watchdog: ms of silence on notification-fd after readiness before the service is stopped (needs notification-fd); null: none. */
  watchdogMs: number | null;
  // --- resources (docs/services.md) ---
  /** Resources: memory-max, cpu-max, pids-max, nofile (null: absent, no limit). */
  limits: Limits;
  /** listen: the addresses the supervisor binds and hands to every run as fds 3, 4, ... (src/listen.ts). */
  listen: ListenAddress[];
}

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*(:[A-Za-z0-9_][A-Za-z0-9._-]*)?$/;

/** The definition, or every problem found, one line each (a Result: see src/errors.ts). */
export type ReadResult = Result<{ def: ServiceDef }>;

const firstLine = (text: string): string => (text.split('\n')[0] ?? '').trim();

/** One item a line; blank lines and `#` comments ignored. */
export const parseList = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

/** Why `file` cannot be run: null when it is an executable regular file, 'missing', or the reason. Stat'ed, never opened. */
const notExecutable = (file: string): string | null => {
  let st: Stats | undefined;
  try {
    st = statSync(file, { throwIfNoEntry: false }); // missing is common: no exception for it (see openRegular)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'missing' : `not an executable file (${code ?? 'unreadable'})`;
  }
  if (st === undefined) return 'missing';
  if (!st.isFile()) return `not an executable file (${fileKind(st)})`;
  try {
    accessSync(file, constants.X_OK);
    return null;
  } catch {
    return 'not an executable file (no execute permission)';
  }
};

/** Reads and validates the service folder `dir`. Never throws: every problem, I/O ones too, is an error line. */
export const readService = (dir: string): ReadResult => {
  const abs = resolve(dir);
  const name = basename(abs);
  const errors: string[] = [];
  /** NAME/FILE: the folder and file names as they may be printed (a name can hold any byte but `/`). */
  const where = (file: string) => `${printable(name)}/${printable(file)}`;
  const fail = (file: string, msg: string) => {
    const line = `${where(file)}: ${msg}`;
    if (!errors.includes(line)) errors.push(line); // each problem once
  };
  /** A list file's (or folder's) problems, [file, message] each: a few distinct ones, then how many more. */
  const failList = (file: string, problems: readonly (readonly [string, string])[]) => {
    const lines = problems.map(([f, msg]) => `${where(f)}: ${msg}`);
    errors.push(...capProblems(where(file), lines));
  };

  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    /* reported below */
  }
  if (!isDir) return { ok: false, problems: [`${printable(abs)}: no such service directory`] };
  if (!NAME_RE.test(name)) {
    return { ok: false, problems: [`${printable(name)}: invalid service name (allowed: ${NAME_RE.source})`] };
  }

  /** The file's text; null when it is missing or invalid (a FIFO, a folder, over 64 KiB: reported). */
  const text = (file: string): string | null => {
    const r = readSettingsFile(join(abs, file));
    if (r.kind === 'invalid') fail(file, r.reason);
    return r.kind === 'ok' ? r.text : null;
  };
  const value = (file: string): string | null => {
    const t = text(file);
    return t === null ? null : firstLine(t);
  };
  const millis = (file: string, fallback: number): number => {
    const v = value(file);
    if (v === null) return fallback;
    if (!/^\d+$/.test(v)) {
      fail(file, `expected milliseconds, got ${quote(v)}`);
      return fallback;
    }
    if (Number(v) > MAX_TIMER_MS) {
      fail(file, `expected milliseconds up to ${MAX_TIMER_MS}, got ${quote(v)}`);
      return fallback;
    }
    return Number(v);
  };
  const executable = (file: string, required: boolean): string | null => {
    const path = join(abs, file);
    const why = notExecutable(path);
    if (why === 'missing') {
      if (required) fail(file, 'missing (the service needs an executable run file)');
      return null;
    }
    if (why !== null) {
      fail(file, why);
      return null;
    }
    return path;
  };
  const oneOf = <T extends string>(file: string, allowed: readonly T[], fallback: T): T => {
    const v = value(file);
    if (v === null) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    fail(file, `expected ${allowed.join(' or ')}, got ${quote(v)}`);
    return fallback;
  };

  const run = executable('run', true) ?? join(abs, 'run');
  const type = oneOf<ServiceType>('type', ['longrun', 'oneshot'], 'longrun');
  const restart = oneOf<RestartPolicy>('restart', ['always', 'on-failure', 'never'], 'always');

  const requires = [...new Set(parseList(text('requires') ?? ''))];
  const badRequires: [string, string][] = [];
  for (const r of requires) {
    if (!NAME_RE.test(r.replace(/@\*$/, '@x'))) badRequires.push(['requires', `invalid service name ${quote(r)}`]);
    else if (r.endsWith('@')) badRequires.push(['requires', `${quote(r)} is a template; name an instance or ${quote(`${r}*`)}`]);
  }
  failList('requires', badRequires);

  let downSignal = DEFAULT_DOWN_SIGNAL as DownSignal;
  const ds = value('down-signal');
  if (ds !== null) {
    const sig = parseDownSignal(ds);
    if (sig) downSignal = sig;
    else fail('down-signal', `expected TERM, INT, QUIT, HUP, USR1 or USR2, got ${quote(ds)}`);
  }

  let notificationFd: number | null = null;
  const nfd = value('notification-fd');
  if (nfd !== null) {
    if (/^\d+$/.test(nfd) && Number(nfd) >= 3 && Number(nfd) < 1024) notificationFd = Number(nfd);
    else fail('notification-fd', `expected a file descriptor number from 3 to 1023, got ${quote(nfd)}`);
  }

  const user = value('user');
  const userProblem = user === null ? null : checkUser(user);
  if (userProblem !== null) fail('user', userProblem);

  const envProblems: [string, string][] = [];
  const env = readEnvDir(join(abs, 'env'), (file, msg) => envProblems.push([file === '' ? 'env' : `env/${file}`, msg]));
  failList('env', envProblems);

  let logRun: string | null = null;
  if (existsSync(join(abs, 'log', 'run'))) logRun = executable('log/run', true);
  const configProblems: [string, string][] = [];
  const logRotation = parseLogConfig(text('log/config') ?? '', (msg) => configProblems.push(['log/config', msg]));
  failList('log/config', configProblems);

  const check = executable('check', false);
  const health = readHealth({ value, millis, fail }, type, check !== null, notificationFd !== null);
  const limits = readLimits(value, fail);
  const listen = readListen(
    parseList(text('listen') ?? ''),
    { oneshot: type === 'oneshot', shared: name.includes('@'), notificationFd },
    fail,
  );

  const def: ServiceDef = {
    name,
    dir: abs,
    type,
    requires,
    down: existsSync(join(abs, 'down')),
    run,
    finish: executable('finish', false),
    stop: executable('stop', false),
    check,
    env,
    notificationFd,
    timeoutReadyMs: millis('timeout-ready', DEFAULT_TIMEOUT_READY_MS),
    timeoutKillMs: millis('timeout-kill', DEFAULT_TIMEOUT_KILL_MS),
    timeoutFinishMs: millis('timeout-finish', DEFAULT_TIMEOUT_FINISH_MS),
    downSignal,
    restart,
    user,
    logRun,
    logRotation,
    template: name.endsWith('@'),
    instance: /@./.test(name) ? name.slice(name.indexOf('@') + 1) : null,
    ...health,
    limits,
    listen,
  };
  return errors.length > 0 ? { ok: false, problems: errors } : { ok: true, def };
};

// --- health and watchdog (docs/services.md) ---

/** The readers readService() gives readHealth(): each reports a bad value with fail() and falls back. */
interface SettingReaders {
  value(file: string): string | null;
  millis(file: string, fallback: number): number;
  fail(file: string, msg: string): void;
}

type HealthSettings = Pick<ServiceDef, 'healthIntervalMs' | 'healthRetries' | 'healthTimeoutMs' | 'watchdogMs'>;

/**
 * health-interval, health-retries, health-timeout and watchdog. Intervals
 * and timeouts must be positive (0 would be a busy loop or an instant
 * failure); health-interval needs a check to run and watchdog a
 * notification-fd to hear from; a oneshot is never "up" long enough to have either.
 */
const readHealth = (r: SettingReaders, type: ServiceType, hasCheck: boolean, hasNotificationFd: boolean): HealthSettings => {
  const positiveMillis = (file: string, fallback: number | null): number | null => {
    if (r.value(file) === null) return fallback;
    const ms = r.millis(file, -1);
    if (ms === 0) r.fail(file, 'expected milliseconds greater than 0, got "0"');
    return ms > 0 ? ms : fallback;
  };
  const longrunOnly = (file: string) => {
    if (type === 'oneshot' && r.value(file) !== null) r.fail(file, 'only a longrun has health checks and a watchdog (type is oneshot)');
  };

  const healthIntervalMs = positiveMillis('health-interval', null);
  if (healthIntervalMs !== null && !hasCheck) r.fail('health-interval', 'needs an executable check file (the health check to run)');
  longrunOnly('health-interval');

  let healthRetries = DEFAULT_HEALTH_RETRIES;
  const retries = r.value('health-retries');
  if (retries !== null) {
    if (/^\d+$/.test(retries) && Number(retries) >= 1 && Number(retries) <= MAX_TIMER_MS) healthRetries = Number(retries);
    else r.fail('health-retries', `expected a whole number from 1 to ${MAX_TIMER_MS}, got ${quote(retries)}`);
  }

  const healthTimeoutMs = positiveMillis('health-timeout', DEFAULT_HEALTH_TIMEOUT_MS) ?? DEFAULT_HEALTH_TIMEOUT_MS;

  const watchdogMs = positiveMillis('watchdog', null);
  if (watchdogMs !== null && !hasNotificationFd) r.fail('watchdog', 'needs a notification-fd file (the fd heartbeats are written to)');
  longrunOnly('watchdog');

  return { healthIntervalMs, healthRetries, healthTimeoutMs, watchdogMs };
};

// Resource limits: each file one value; a bad one is reported and the limit left unset.
/** The kernel's largest pids.max (PID_MAX_LIMIT). */
export const PIDS_MAX = 4_194_304;
/** Linux's default fs.nr_open: RLIMIT_NOFILE cannot be raised past it. */
export const NOFILE_MAX = 1_048_576;
/** A cfs quota below 1 ms per 100 ms period is refused by the kernel: 1% is the least. */
export const CPU_MAX_PERCENT = 100_000;
/** memory-max: a size (src/sizes.ts), at least one page. Null when invalid. */
export const parseMemoryMax = (v: string): number | null => {
  const bytes = parseSize(v);
  return bytes !== null && bytes >= 4096 ? bytes : null;
};

/** cpu-max: a whole percentage of one CPU with its `%` (`50%`, `250%`). Null when invalid. */
export const parseCpuMax = (v: string): number | null => {
  const m = /^(\d{1,6})%$/.exec(v);
  const n = Number(m?.[1]);
  return m && n >= 1 && n <= CPU_MAX_PERCENT ? n : null;
};

/** A whole number from 1 to `max`, or null. */
export const parseCount = (v: string, max: number): number | null =>
  /^\d{1,10}$/.test(v) && Number(v) >= 1 && Number(v) <= max ? Number(v) : null;

const readLimits = (value: (file: string) => string | null, fail: (file: string, msg: string) => void): Limits => {
  const one = (file: string, parse: (v: string) => number | null, expected: string): number | null => {
    const v = value(file);
    if (v === null) return null;
    const n = parse(v);
    if (n === null) fail(file, `expected ${expected}, got ${quote(v)}`);
    return n;
  };
  return {
    memoryMax: one('memory-max', parseMemoryMax, 'bytes (at least 4096) or a number with K, M or G (powers of 1024)'),
    cpuMax: one('cpu-max', parseCpuMax, `a percentage of one CPU from 1% to ${CPU_MAX_PERCENT}% (e.g. 50%)`),
    pidsMax: one('pids-max', (v) => parseCount(v, PIDS_MAX), `a number of processes and threads from 1 to ${PIDS_MAX}`),
    nofile: one('nofile', (v) => parseCount(v, NOFILE_MAX), `a number of open files from 1 to ${NOFILE_MAX}`),
  };
};

/**
 * log/config: `size BYTES` (rotate log/current past this: a size as
 * memory-max's, 4096 to 2^40) and `keep N` (rotated files kept), one a
 * line, `#` comments allowed.
 */
export const parseLogConfig = (text: string, fail: (msg: string) => void): Rotation => {
  const r: Rotation = { ...DEFAULT_ROTATION };
  for (const line of parseList(text)) {
    const m = /^(size|keep)\s+(\S+)$/.exec(line);
    const size = m?.[1] === 'size' ? parseSize(m[2]!) : null;
    if (size !== null && size >= 4096 && size <= 2 ** 40) r.maxBytes = size;
    else if (m?.[1] === 'keep' && /^\d{1,5}$/.test(m[2]!) && Number(m[2]) <= 10_000) r.keep = Number(m[2]);
    else fail(`expected "size BYTES" (at least 4096; K, M or G allowed) or "keep N", got ${quote(line)}`);
  }
  return r;
};

/** Why `spec` (USER or USER:GROUP) is not a valid `user` setting, or null. Numbers are ids: 0 to 4294967294 ((uid_t)-1 means "no change" to the kernel). */
export const checkUser = (spec: string): string | null => {
  if (!USER_RE.test(spec)) return `expected USER or USER:GROUP, got ${quote(spec)}`;
  const [user = '', group] = spec.split(':');
  if (!idInRange(user)) return `expected a user id from 0 to ${ID_MAX}, got ${quote(user)}`;
  if (group !== undefined && !idInRange(group)) return `expected a group id from 0 to ${ID_MAX}, got ${quote(group)}`;
  return null;
};

/** envdir semantics: first line with trailing blanks removed; an empty file unsets. Each file is a settings file (regular, at most 64 KiB). */
const readEnvDir = (dir: string, fail: (file: string, msg: string) => void): Record<string, string | null> => {
  const env: Record<string, string | null> = {};
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') fail('', code === 'ENOTDIR' ? 'not a directory' : `not readable (${code ?? 'error'})`);
    return env;
  }
  for (const file of names.sort()) {
    if (file.startsWith('.')) continue;
    if (!ENV_NAME_RE.test(file)) {
      fail(file, 'invalid variable name');
      continue;
    }
    const r = readSettingsFile(join(dir, file));
    if (r.kind === 'missing') continue; // removed meanwhile
    if (r.kind === 'invalid') {
      fail(file, r.reason);
      continue;
    }
    const text = r.text;
    env[file] = text === '' ? null : (text.split('\n')[0] ?? '').replace(/[ \t]+$/, '').replace(/\0/g, '\n');
  }
  return env;
};
