// Reaping for an init: as PID 1 (or, elsewhere, as a child subreaper) svctl
// boot inherits every orphan in the container and must wait() for each, or
// zombies pile up. Node cannot do either, so two libc calls go through koffi.
// Node's own children are reaped by libuv (waitpid on each pid it spawned);
// taking one of those would lose its exit event, so only zombies seen twice,
// at least REAP_AFTER_MS apart, are reaped here: libuv has long had its own.
import { readdirSync } from 'node:fs';
import { REAP_AFTER_MS, REAP_SWEEP_MS } from '../defaults.js';
import { libc } from './libc.js';
import { procStat } from './proc.js';

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;

interface ReaperCalls {
  prctl(option: number, a2: number, a3: number, a4: number, a5: number): number;
  waitpid(pid: number, status: number[], options: number): number;
}

let calls: ReaperCalls | null | undefined;
/** libc through koffi, loaded on first use (only svctl boot needs it); null where unavailable. */
const loadCalls = (): ReaperCalls | null => {
  if (calls !== undefined) return calls;
  const lib = libc()?.lib;
  calls = lib
    ? {
        prctl: lib.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)'),
        waitpid: lib.func('int waitpid(int, _Out_ int *, int)'),
      }
    : null;
  return calls;
};

/** Makes orphaned descendants ours to reap (not needed as PID 1). False when it cannot. */
export const becomeSubreaper = (): boolean => {
  if (process.pid === 1) return true;
  const c = loadCalls();
  return c !== null && c.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) === 0;
};

/** Our zombie children, by a scan of /proc. */
const zombieChildren = (): number[] => {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const st = procStat(pid);
    if (st?.ppid === process.pid && st.state === 'Z') found.push(pid);
  }
  return found;
};

export interface Reaper {
  /** Zombies reaped so far. */
  readonly reaped: number;
  stop(): void;
}

/** Reaps orphans promptly (on SIGCHLD) and forever (a sweep every SWEEP_MS). */
export const startReaper = (): Reaper => {
  const c = loadCalls();
  const seen = new Map<number, number>();
  let reaped = 0;
  let pending: NodeJS.Timeout | null = null;
  const sweep = () => {
    pending = null;
    if (!c) return;
    const now = Date.now();
    const zombies = new Set(zombieChildren());
    for (const pid of seen.keys()) if (!zombies.has(pid)) seen.delete(pid);
    for (const pid of zombies) {
      const first = seen.get(pid);
      if (first === undefined) seen.set(pid, now);
      else if (now - first >= REAP_AFTER_MS && c.waitpid(pid, [0], WNOHANG) === pid) {
        seen.delete(pid);
        reaped += 1;
      }
    }
    if (seen.size > 0) schedule(REAP_AFTER_MS);
  };
  const schedule = (ms: number) => {
    pending ??= setTimeout(sweep, ms);
  };
  const onChild = () => schedule(0);
  process.on('SIGCHLD', onChild);
  const timer = setInterval(sweep, REAP_SWEEP_MS);
  timer.unref();
  return {
    get reaped() {
      return reaped;
    },
    stop: () => {
      process.off('SIGCHLD', onChild);
      clearInterval(timer);
      if (pending) clearTimeout(pending);
    },
  };
};
