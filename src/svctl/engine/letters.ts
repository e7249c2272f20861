// svctl's letters to supervisors (src/supervise/control.ts), sent so that a
// command that gives up never wins over a later one. A FIFO keeps what is
// written to it until someone reads it: a letter for a supervisor that is
// stopped (SIGSTOP, Ctrl-Z) would be obeyed whenever it runs again, long
// after svctl said it failed and maybe after another command succeeded. So
// a stopped supervisor is told nothing (svctl says so in one line), and a
// letter still unread when svctl gives up, or is interrupted, is taken back
// out of the FIFO. A SIGKILLed svctl cannot take its letter back: that one
// stays, as with runit.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { folderLockHolder } from '../../os/flock.js';
import { procStat } from '../../os/proc.js';
import { type ControlLetter, type Letter, sendControl, type SendResult } from '../../supervise/control.js';
import type { Observed } from './observe.js';

/** A supervisor stopped by a signal (state T) or a debugger (t) reads nothing until it is continued. */
const isStopped = (pid: number): boolean => {
  const state = procStat(pid)?.state;
  return state === 'T' || state === 't';
};

/**
 * The pid of the service's supervisor when it is stopped, else null: the
 * holder of the service folder's lock (src/supervise/lock.ts), or where
 * /proc/locks shows none (no flock), the one status.json names, with its
 * start time.
 */
export const stoppedSupervisor = (o: Pick<Observed, 'dir' | 'recorded'>): number | null => {
  const holder = folderLockHolder(o.dir);
  if (holder) return isStopped(holder) ? holder : null;
  const sv = o.recorded?.supervisor;
  return sv && procStat(sv.pid)?.start === sv.pidStart && isStopped(sv.pid) ? sv.pid : null;
};

/** The one line for a supervisor that is stopped: nothing was asked of it. */
export const stoppedText = (name: string, pid: number, what: string): string =>
  `${name}: its supervisor (pid ${pid}) is stopped (SIGSTOP or Ctrl-Z): ${what}; continue it (kill -CONT ${pid}) and try again`;

export type AskResult = SendResult | { stopped: number };

/** FIFOs written to whose letters may still be unread: taken back if svctl is interrupted. */
const unread = new Set<string>();
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const onStopSignal = (sig: NodeJS.Signals): void => {
  // first of the listeners (prepended): are there others to end the command?
  const alone = process.listenerCount(sig) === 1;
  for (const fifo of unread) takeBack(fifo);
  unread.clear();
  unlisten();
  // nobody else handles it (no scan lock held): the signal's usual end
  if (alone) process.kill(process.pid, sig);
};
const listen = () => {
  for (const sig of STOP_SIGNALS) if (!process.listeners(sig).includes(onStopSignal)) process.prependListener(sig, onStopSignal);
};
const unlisten = () => {
  for (const sig of STOP_SIGNALS) process.off(sig, onStopSignal);
};

/**
 * One letter to the service's supervisor, unless it is stopped. Until
 * `settled` says the command is over, an interrupt takes it back.
 */
export const ask = (o: Pick<Observed, 'dir' | 'recorded' | 'paths'>, letter: Letter | ControlLetter): AskResult => {
  const stopped = stoppedSupervisor(o);
  if (stopped !== null) return { stopped };
  const r = sendControl(o.paths.control, letter);
  if (r === 'sent') {
    unread.add(o.paths.control);
    listen();
  }
  return r;
};

/** The command that wrote to `fifo` is over: its letters are the supervisor's now, or were taken back. */
export const settled = (fifo: string): void => {
  unread.delete(fifo);
  if (unread.size === 0) unlisten();
};

/** A pipe holds 64 KiB: more than that was never written by anyone waiting. */
const PIPE_BYTES = 65536;

/**
 * Takes back whatever waits unread in the FIFO at `fifo` (svctl gave up on
 * it): reads it empty without blocking, never through a symlink. Returns
 * how many letters it held; 0 when the supervisor had read everything.
 */
export const takeBack = (fifo: string): number => {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return 0;
  }
  let taken = 0;
  try {
    if (!fstatSync(fd).isFIFO()) return 0;
    const buf = Buffer.alloc(PIPE_BYTES);
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0 && taken < PIPE_BYTES; n = readSync(fd, buf, 0, buf.length, null))
      taken += n;
  } catch {
    /* EAGAIN: empty */
  } finally {
    closeSync(fd);
  }
  return taken;
};
