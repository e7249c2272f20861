// Waiting for the scan lock by the holder's progress, not by a bound
// computed from timeouts: the holder touches its owner record
// (.svctl.lock.owner) every second while its event loop runs, and every wait
// of a holder is bounded by its own timeouts, so a holder that beats is
// working. A waiter without -t waits as long as the holder lives and beats;
// one that stopped beating (stopped by Ctrl-Z, hung) is given up on after
// SCAN_LOCK_STALL_MS. A dead holder's lock is taken over at once (scanlock.ts).
import { lstatSync, lutimesSync, readFileSync } from 'node:fs';
import { SCAN_LOCK_HEARTBEAT_MS } from '../../defaults.js';
import { printable } from '../../errors.js';

/** Touches `ownerPath` every SCAN_LOCK_HEARTBEAT_MS (never through a symlink); returns the function that stops it. */
export const beat = (ownerPath: string): (() => void) => {
  const touch = () => {
    const now = new Date();
    try {
      lutimesSync(ownerPath, now, now);
    } catch {
      /* removed: the lock is being released */
    }
  };
  const timer = setInterval(touch, SCAN_LOCK_HEARTBEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
};

/** How long ago the holder last beat (ms); null when there is no owner record to tell. */
export const sinceBeat = (ownerPath: string, now = Date.now()): number | null => {
  try {
    return Math.max(0, now - lstatSync(ownerPath).mtimeMs);
  } catch {
    return null;
  }
};

/** What the holder runs, as a person knows it (`svctl up web`), or null when /proc does not tell. */
export const holderCommand = (pid: number): string | null => {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
  // node .../svctl.js ARGS, or svctl ARGS through its bin link
  const i = argv.findIndex((a) => /(^|\/)svctl(\.js)?$/.test(a));
  if (i < 0) return null;
  const text = ['svctl', ...argv.slice(i + 1)].map(printable).join(' ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
};

/** `svctl pid 812 (svctl up web)`: the holder as a waiter names it. */
export const holderText = (pid: number | null): string => {
  if (pid === null) return 'another svctl';
  const cmd = holderCommand(pid);
  return `svctl pid ${pid}${cmd ? ` (${cmd})` : ''}`;
};
