// Services inherit nothing. A descriptor svrun or svctl got from whoever
// started it (a root shell's `exec 30</etc/shadow`) would otherwise reach every
// service, across the `user` drop: Node's spawn closes only what is marked
// close-on-exec, and leaves the rest open in the child. So each entry point
// marks every inherited descriptor above stderr close-on-exec before it does
// anything else; what it hands on itself (spawn's stdio) is unaffected.
import { closeSync, readdirSync, readFileSync } from 'node:fs';
import { EXIT_FAILED, EXIT_INVALID, FDS_PER_HOSTED_SERVICE, MIN_FDS_SVCTL, MIN_FDS_SVRUN } from '../defaults.js';
import { libc } from './libc.js';

const O_CLOEXEC = 0o2000000;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/** Is `fd` close-on-exec? (/proc's fdinfo shows the flag; a descriptor gone meanwhile counts as closed.) */
const closeOnExec = (fd: number): boolean => {
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'));
    return flags === null || (parseInt(flags[1]!, 8) & O_CLOEXEC) !== 0;
  } catch {
    return true;
  }
};

/** Our descriptors above stderr that an exec would pass on. */
export const inheritableFds = (): number[] => {
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return []; // no /proc: nothing to go by
  }
  return entries.map(Number).filter((fd) => Number.isInteger(fd) && fd > 2 && !closeOnExec(fd));
};

type Fcntl = (fd: number, cmd: number, ...args: unknown[]) => number;

/** fcntl through koffi, loaded only when needed (the common case has nothing to mark); null where unavailable. */
const loadFcntl = (): Fcntl | null => (libc()?.lib.func('int fcntl(int fd, int cmd, ...)') as Fcntl | undefined) ?? null;

/**
 * Marks every inherited descriptor above stderr close-on-exec. Without
 * koffi, closes them instead (nothing in svkit uses a descriptor it did
 * not open), except Node's own IPC channel. Returns the descriptors handled.
 */
export const keepDescriptorsToOurselves = (): number[] => {
  const fds = inheritableFds();
  if (fds.length === 0) return fds;
  const fcntl = loadFcntl();
  const ipc = Number(process.env.NODE_CHANNEL_FD ?? -1);
  for (const fd of fds) {
    if (fcntl && fcntl(fd, F_SETFD, 'int', FD_CLOEXEC) === 0) continue;
    if (fd === ipc) continue;
    try {
      closeSync(fd);
    } catch {
      /* gone already */
    }
  }
  return fds;
};

/**
 * How many descriptors this process may have open: the soft limit, which
 * Node raises to the hard limit at start-up; null where /proc does not say.
 */
export const descriptorLimit = (): number | null => {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    if (!m) return null;
    return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return null;
  }
};

/** What each entry point needs, and how it exits without it (svrun: invalid setup, before locking; svctl: failed). */
const NEEDS = {
  svrun: { min: MIN_FDS_SVRUN, exit: EXIT_INVALID },
  svctl: { min: MIN_FDS_SVCTL, exit: EXIT_FAILED },
} as const;

/** The limit as read at start-up (at EMFILE, /proc/self/limits cannot be read any more). */
let limitAtStart: number | null = null;

/**
 * The one line saying the descriptor limit is too low, and the exit code it
 * goes with; `exhausted`: the limit looked enough, but descriptors the
 * caller left open used it up. The entry point prints it and exits (only
 * the entry points exit; this module is loaded before anything else, so it
 * does not build an SvError, whose module would be one more file to open).
 */
export const tooFewDescriptors = (program: keyof typeof NEEDS, exhausted = false): { line: string; exitCode: number } => {
  const { min, exit } = NEEDS[program];
  const limit = limitAtStart ?? descriptorLimit() ?? '?';
  const held = exhausted ? ', used up by descriptors inherited open' : '';
  return {
    line: `${program}: too few file descriptors (limit ${limit}${held}, needs at least ${min}): raise the hard limit (ulimit -Hn)`,
    exitCode: exit,
  };
};

/**
 * Checks the limit before anything else is loaded: below it, loading the
 * program's modules (all opened at once) or supervising would fail with
 * EMFILE somewhere, as a stack trace or worse. Null when there are enough,
 * else what tooFewDescriptors says.
 */
export const descriptorShortage = (program: keyof typeof NEEDS): { line: string; exitCode: number } | null => {
  limitAtStart = descriptorLimit();
  return limitAtStart !== null && limitAtStart < NEEDS[program].min ? tooFewDescriptors(program) : null;
};

/**
 * An svrun hosting `services` services needs descriptors for each (see
 * FDS_PER_HOSTED_SERVICE): null when the limit allows it, else the line
 * saying it does not (exit 111), checked before any folder is touched.
 */
export const hostDescriptorShortage = (services: number): { line: string; exitCode: number } | null => {
  const need = MIN_FDS_SVRUN + FDS_PER_HOSTED_SERVICE * Math.max(0, services - 1);
  const limit = limitAtStart ?? descriptorLimit();
  if (limit === null || limit >= need) return null;
  return {
    line: `svrun: too few file descriptors for ${services} services (limit ${limit}, needs at least ${need}): raise the hard limit (ulimit -Hn)`,
    exitCode: EXIT_INVALID,
  };
};
