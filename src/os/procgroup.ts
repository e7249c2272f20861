// Where a service's processes live and how they end: each run starts in its
// own session and process group (and, where possible, its own cgroup, joined
// by a tiny sh wrapper before `run` is exec'd, so no child can be forked
// outside it), with a parent-death signal set by setpriv between fork and exec.
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Writable } from 'node:stream';
import { cgroupKill, cgroupPids, cgroupPopulated, cgroupPopulatedBesides } from './cgroup.js';
import { type Identity, setprivIdentityArgs } from './identity.js';
import { groupExists, groupMembers, procStat } from './proc.js';

export interface Containment {
  /** The service's cgroup, or null: process groups only. */
  cgroup: string | null;
  /** setpriv's path, or null where it is missing (no parent-death signal then). */
  setpriv: string | null;
  /** The service's v1 cgroups (hybrid hosts: memory, cpu, cpuacct, pids), joined with the v2 one. */
  v1Cgroups?: readonly string[];
  /** RLIMIT_NOFILE (soft and hard) set by prlimit before anything else runs; null: inherited. */
  nofile?: { prlimit: string; limit: number } | null;
}

export const findExecutable = (name: string): string | null => {
  for (const dir of (process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* next */
    }
  }
  return null;
};

const CGROUP_WRAPPER = 'echo $$ > "$0" || exit 111; exec "$@"';
/** The same for several cgroups (v2 and v1 ones): $0 says how many cgroup.procs files follow. */
const CGROUPS_WRAPPER = 'n=$0; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 111; shift; n=$((n-1)); done; exec "$@"';
/**
 * systemd's LISTEN_PID is the pid of the program that gets the sockets, unknown
 * before fork: the first wrapper sets it to its own pid, which every later
 * wrapper and the program keep (each execs in place).
 */
const LISTEN_PID = 'LISTEN_PID=$$; export LISTEN_PID; ';
/** The wrapper that does only that, where no cgroup is joined ($0 is a placeholder). */
const LISTEN_PID_WRAPPER = `${LISTEN_PID}exec "$@"`;
const WRAPPERS = new Set([CGROUP_WRAPPER, CGROUPS_WRAPPER, LISTEN_PID_WRAPPER, LISTEN_PID + CGROUP_WRAPPER, LISTEN_PID + CGROUPS_WRAPPER]);

/**
 * Has `pid` got past our wrappers (sh joining the cgroup, setpriv) and
 * exec'd the program itself? True too when it is gone (it got that far or failed).
 */
export const pastWrappers = (c: Containment, pid: number): boolean => {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return true;
  }
  if (argv[0] === '/bin/sh' && argv[1] === '-c' && (WRAPPERS.has(argv[2] ?? '') || STANDBY_WAIT.test(argv[2] ?? ''))) return false;
  return argv[0] !== c.setpriv && argv[0] !== c.nofile?.prlimit;
};

export interface SpawnOptions {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdio: StdioOptions;
  /** Sent to the process when svrun dies (PR_SET_PDEATHSIG). */
  deathSignal: NodeJS.Signals;
  /** Run as this user (svrun is root); null: as svrun. */
  identity: Identity | null;
  /** Set $LISTEN_PID to the program's pid (it gets listening sockets). */
  listenPid?: boolean;
}

/**
 * The wrapper chain around `inner`: join the cgroups (sh, which also sets
 * $LISTEN_PID), raise nofile (prlimit), set the parent-death signal and the
 * identity (setpriv), in that order (only root may join a cgroup or raise a
 * hard limit). Each execs in place: the pid is the program's throughout.
 */
const containedArgv = (c: Containment, o: Omit<SpawnOptions, 'stdio' | 'cwd' | 'env'>, inner: string[]): string[] => {
  let argv = inner;
  // never run as root a service that asked for a user
  if (o.identity && !c.setpriv) throw new Error(`setpriv not found: cannot run as ${o.identity.name}`);
  if (c.setpriv) {
    const ids = o.identity ? setprivIdentityArgs(o.identity) : [];
    argv = [c.setpriv, ...ids, '--pdeathsig', o.deathSignal, '--', ...argv];
  }
  // before setpriv drops root: only root may raise a hard limit
  if (c.nofile) argv = [c.nofile.prlimit, `--nofile=${c.nofile.limit}:${c.nofile.limit}`, '--', ...argv];
  const v1 = c.cgroup ? (c.v1Cgroups ?? []) : [];
  const pid = o.listenPid ? LISTEN_PID : '';
  if (c.cgroup && v1.length === 0) {
    // join the cgroup first: everything run forks is born inside it
    argv = ['/bin/sh', '-c', pid + CGROUP_WRAPPER, join(c.cgroup, 'cgroup.procs'), ...argv];
  } else if (c.cgroup) {
    const procs = [c.cgroup, ...v1].map((d) => join(d, 'cgroup.procs'));
    argv = ['/bin/sh', '-c', pid + CGROUPS_WRAPPER, String(procs.length), ...procs, ...argv];
  } else if (o.listenPid) {
    argv = ['/bin/sh', '-c', LISTEN_PID_WRAPPER, 'svkit', ...argv];
  }
  return argv;
};

/** Spawns `file` as the leader of a new session; its pid is the group's id. */
export const spawnContained = (c: Containment, o: SpawnOptions): ChildProcess => {
  const argv = containedArgv(c, o, [o.file, ...o.args]);
  return spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, env: o.env, stdio: o.stdio, detached: true });
};

/**
 * A run spawned ahead of time: the whole wrapper chain has run (it is in the
 * cgroups, its parent-death signal and identity are set), and its last
 * wrapper, a sh as the service's user, waits for one line on a pipe from
 * svrun before it execs `file` (without that pipe). Joining a cgroup waits
 * for an RCU grace period: a standby pays it before it is needed, so a
 * restart only writes one line. If svrun dies, the standby dies of its
 * parent-death signal or of its pipe's end, whichever comes first; it never
 * runs `file` unasked.
 */
export interface Standby {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Lets it exec `file`; false when it is gone (it exited, or its pipe broke). */
  release(): boolean;
  /** Ends it unused: its pipe closed and SIGKILL (its exit is reported as the child's). */
  discard(): void;
}

/** The standby's last wrapper, for its trigger on fd `fd` (one digit: sh's redirections take no more). */
const standbyWait = (fd: number) => `read -r _ <&${fd} || exit 0; exec "$0" "$@" ${fd}<&-`;
const STANDBY_WAIT = /^read -r _ <&(\d) \|\| exit 0; exec "\$0" "\$@" \1<&-$/;

/** The lowest fd from 3 to 9 that `stdio` leaves free for the trigger (not a socket, not the notification fd). */
const triggerFd = (stdio: readonly unknown[]): number | null => {
  for (let fd = 3; fd <= 9; fd++) if (fd >= stdio.length || stdio[fd] === 'ignore' || stdio[fd] === undefined) return fd;
  return null;
};

/** Spawns a standby for `o` (see Standby); null where it cannot have one (stdio not an array, no free fd below 10). */
export const spawnStandby = (c: Containment, o: SpawnOptions): Standby | null => {
  if (!Array.isArray(o.stdio)) return null;
  const fd = triggerFd(o.stdio);
  if (fd === null) return null;
  const stdio: unknown[] = [...o.stdio];
  while (stdio.length <= fd) stdio.push('ignore');
  stdio[fd] = 'pipe';
  const argv = containedArgv(c, o, ['/bin/sh', '-c', standbyWait(fd), o.file, ...o.args]);
  const child = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, env: o.env, stdio: stdio as StdioOptions, detached: true });
  child.on('error', () => {}); // a failed spawn: pid undefined below, the next restart spawns as it would without
  const trigger = child.stdio[fd] as Writable | null;
  trigger?.on('error', () => {});
  const pid = child.pid;
  if (pid === undefined || !trigger) {
    trigger?.destroy();
    return null;
  }
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    pid,
    release: () => {
      if (gone() || trigger.destroyed) return false;
      // the line stays queued for the standby when our end closes
      trigger.end('\n', () => trigger.destroy());
      return true;
    },
    discard: () => {
      trigger.destroy();
      if (!gone()) trySignal(pid, 'SIGKILL');
    },
  };
};

/** kill() that ignores a process (or group) already gone. */
export const trySignal = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone already */
  }
};

/**
 * Signals the group at once (atomic against fork), then any cgroup member
 * that left the group, but `standby` (a Standby's pid: not the service's yet).
 */
export const signalGroup = (c: Containment, pgid: number | null, signal: NodeJS.Signals, standby: number | null = null): void => {
  if (pgid !== null) trySignal(-pgid, signal);
  if (c.cgroup) for (const pid of cgroupPids(c.cgroup)) if (pid !== standby && procStat(pid)?.pgid !== pgid) trySignal(pid, signal);
};

export const killGroup = (c: Containment, pgid: number): void => {
  trySignal(-pgid, 'SIGKILL');
  if (c.cgroup) cgroupKill(c.cgroup);
};

/**
 * Does anything of the service still run (a Standby, `standby`, does not
 * count)? The cheap test is one kill(-pgid, 0); it also counts zombies
 * nobody reaps, so `thorough` rechecks by a /proc scan.
 */
export const groupAlive = (c: Containment, pgid: number, thorough = false, standby: number | null = null): boolean => {
  if (c.cgroup) return standby === null ? cgroupPopulated(c.cgroup) : cgroupPopulatedBesides(c.cgroup, standby);
  if (!groupExists(pgid)) return false;
  return !thorough || groupMembers(pgid).length > 0;
};
