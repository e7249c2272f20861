// Reads one service folder into a validated ServiceDef. Every problem is
// reported (one line each, naming NAME/FILE and the bad value) so that svrun
// and svctl can refuse bad input before they change anything.
import { accessSync, constants, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  DEFAULT_DOWN_SIGNAL,
  DEFAULT_ROTATION,
  DEFAULT_TIMEOUT_FINISH_MS,
  DEFAULT_TIMEOUT_KILL_MS,
  DEFAULT_TIMEOUT_READY_MS,
} from './defaults.js';
import type { Rotation } from './logfile.js';
import { type DownSignal, parseDownSignal } from './signals.js';

export type ServiceType = 'longrun' | 'oneshot';
export type RestartPolicy = 'always' | 'on-failure' | 'never';

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
}

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*(:[A-Za-z0-9_][A-Za-z0-9._-]*)?$/;

export type ReadResult = { ok: true; def: ServiceDef } | { ok: false; errors: string[] };

/** The file's content, null when it does not exist, or an Error when it cannot be read (a folder, EACCES). */
const readOptional = (file: string): string | null | Error => {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : (err as Error);
  }
};

/** setTimeout's limit: a longer timeout would fire at once. */
const MAX_MS = 2 ** 31 - 1;

const firstLine = (text: string): string => (text.split('\n')[0] ?? '').trim();

/** One item a line; blank lines and `#` comments ignored. */
export const parseList = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

const isExecutableFile = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

const exists = (file: string): boolean => {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
};

/** Reads and validates the service folder `dir`. Throws only on I/O errors other than ENOENT. */
export const readService = (dir: string): ReadResult => {
  const abs = resolve(dir);
  const name = basename(abs);
  const errors: string[] = [];
  const fail = (file: string, msg: string) => errors.push(`${name}/${file}: ${msg}`);

  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    /* reported below */
  }
  if (!isDir) return { ok: false, errors: [`${abs}: no such service directory`] };
  if (!NAME_RE.test(name)) {
    return { ok: false, errors: [`${name}: invalid service name (allowed: ${NAME_RE.source})`] };
  }

  const text = (file: string): string | null => {
    const t = readOptional(join(abs, file));
    if (t instanceof Error) {
      fail(file, `not a readable file (${(t as NodeJS.ErrnoException).code ?? t.message})`);
      return null;
    }
    return t;
  };
  const value = (file: string): string | null => {
    const t = text(file);
    return t === null ? null : firstLine(t);
  };
  const millis = (file: string, fallback: number): number => {
    const v = value(file);
    if (v === null) return fallback;
    if (!/^\d+$/.test(v)) {
      fail(file, `expected milliseconds, got "${v}"`);
      return fallback;
    }
    if (Number(v) > MAX_MS) {
      fail(file, `expected milliseconds up to ${MAX_MS}, got "${v}"`);
      return fallback;
    }
    return Number(v);
  };
  const executable = (file: string, required: boolean): string | null => {
    const path = join(abs, file);
    if (!exists(path)) {
      if (required) fail(file, 'missing (the service needs an executable run file)');
      return null;
    }
    if (!isExecutableFile(path)) {
      fail(file, 'not an executable file');
      return null;
    }
    return path;
  };
  const oneOf = <T extends string>(file: string, allowed: readonly T[], fallback: T): T => {
    const v = value(file);
    if (v === null) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    fail(file, `expected ${allowed.join(' or ')}, got "${v}"`);
    return fallback;
  };

  const run = executable('run', true) ?? join(abs, 'run');
  const type = oneOf<ServiceType>('type', ['longrun', 'oneshot'], 'longrun');
  const restart = oneOf<RestartPolicy>('restart', ['always', 'on-failure', 'never'], 'always');

  const requires = parseList(text('requires') ?? '');
  for (const r of requires) {
    if (!NAME_RE.test(r.replace(/@\*$/, '@x'))) fail('requires', `invalid service name "${r}"`);
    else if (r.endsWith('@')) fail('requires', `"${r}" is a template; name an instance or "${r}*"`);
  }

  let downSignal = DEFAULT_DOWN_SIGNAL as DownSignal;
  const ds = value('down-signal');
  if (ds !== null) {
    const sig = parseDownSignal(ds);
    if (sig) downSignal = sig;
    else fail('down-signal', `expected TERM, INT, QUIT, HUP, USR1 or USR2, got "${ds}"`);
  }

  let notificationFd: number | null = null;
  const nfd = value('notification-fd');
  if (nfd !== null) {
    if (/^\d+$/.test(nfd) && Number(nfd) >= 3 && Number(nfd) < 1024) notificationFd = Number(nfd);
    else fail('notification-fd', `expected a file descriptor number from 3 to 1023, got "${nfd}"`);
  }

  const user = value('user');
  if (user !== null && !USER_RE.test(user)) fail('user', `expected USER or USER:GROUP, got "${user}"`);

  const env = readEnvDir(join(abs, 'env'), (file, msg) => fail(`env/${file}`, msg));

  let logRun: string | null = null;
  if (exists(join(abs, 'log', 'run'))) logRun = executable('log/run', true);
  const logRotation = parseLogConfig(text('log/config') ?? '', (msg) => fail('log/config', msg));

  const def: ServiceDef = {
    name,
    dir: abs,
    type,
    requires,
    down: exists(join(abs, 'down')),
    run,
    finish: executable('finish', false),
    stop: executable('stop', false),
    check: executable('check', false),
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
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, def };
};

/**
 * log/config: `size BYTES` (rotate log/current past this, at least 4096)
 * and `keep N` (rotated files kept), one a line, `#` comments allowed.
 */
export const parseLogConfig = (text: string, fail: (msg: string) => void): Rotation => {
  const r: Rotation = { ...DEFAULT_ROTATION };
  for (const line of parseList(text)) {
    const m = /^(size|keep)\s+(\d+)$/.exec(line);
    const n = Number(m?.[2]);
    if (m?.[1] === 'size' && n >= 4096 && n <= 2 ** 40) r.maxBytes = n;
    else if (m?.[1] === 'keep' && n <= 10_000) r.keep = n;
    else fail(`expected "size BYTES" (at least 4096) or "keep N", got "${line}"`);
  }
  return r;
};

/** envdir semantics: first line with trailing blanks removed; an empty file unsets. */
const readEnvDir = (dir: string, fail: (file: string, msg: string) => void): Record<string, string | null> => {
  const env: Record<string, string | null> = {};
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return env;
  }
  for (const file of names.sort()) {
    if (file.startsWith('.')) continue;
    if (!ENV_NAME_RE.test(file)) {
      fail(file, 'invalid variable name');
      continue;
    }
    let text: string;
    try {
      text = readFileSync(join(dir, file), 'utf8');
    } catch {
      fail(file, 'not a readable file');
      continue;
    }
    env[file] = text === '' ? null : (text.split('\n')[0] ?? '').replace(/[ \t]+$/, '').replace(/\0/g, '\n');
  }
  return env;
};
