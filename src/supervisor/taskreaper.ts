// Principle 2 after a SIGKILL of svrun: a per-service task reaper. It is a
// tiny /bin/sh script (no second Node), started by svrun outside the
// service's cgroup and in a session of its own, that blocks in `read` on a
// pipe from svrun. svrun tells it, line by line, what to reap (each unit's
// process group with its leader's start time, down-signal, timeout-kill and
// cgroup). A clean exit of svrun says `done` and the reaper exits; any other
// end of svrun closes the pipe (the kernel does that, whatever killed it),
// `read` sees EOF, and the reaper stops what is left exactly as svrun would:
// down-signal and SIGCONT, timeout-kill, SIGKILL (cgroup.kill), service
// first and then its log/ logger, so the logger reads the last lines.
//
// The reaper signals a process group only while its leader is either gone
// (a group id is never reused while the group has members) or the very
// process svrun named (same start time), and a cgroup only when svrun named
// it: svrun computed it, nothing read from the service folder is trusted.
// It records itself in supervise/reaper (pid and start time) so that the
// next svrun, and `svctl status`, can find it; both check /proc/PID/cmdline
// before believing that file.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GROUP_POLL_MS, IO_RETRY_MS, REAPER_EXIT_WAIT_MS } from '../defaults.js';
import { errorText } from '../errors.js';
import { isAlive, procStartTime } from '../os/proc.js';
import { replaceFile } from '../os/safefile.js';
import { readSettingsFile } from '../settingsfile.js';
import { exitText } from '../supervise/status.js';

/** argv[0] of the script ($0), so `ps` shows what it is. */
export const REAPER_NAME = 'svkit-reaper';

/**
 * The reaper. Input lines: `UNIT PGID START SIGNAL TIMEOUT_MS CGROUP` (UNIT
 * run or log, `-` for none), or `done`. Group-only liveness is one
 * kill -0 (a signal to a zombie is harmless); every 10th check of the wait
 * (about 0.5 s) a /proc scan looks past zombies nobody reaps.
 */
export const REAPER_SCRIPT = `trap '' INT HUP QUIT TERM PIPE
now() { read -r t _ < /proc/uptime; f=\${t#*.}; t=$(( \${t%.*} * 100 + \${f#0} )); }
ours() {
  [ "$pg" != - ] || return 1
  { read -r st < "/proc/$pg/stat"; } 2>/dev/null || return 0
  [ "$ps" != - ] || return 1
  st=\${st##*) }; set -- $st; shift 19; [ "$1" = "$ps" ]
}
alive() {
  if [ "$cg" != - ]; then
    { read -r _ e; } < "$cg/cgroup.events" 2>/dev/null && [ "$e" = 1 ] && return 0
  fi
  ours && kill -s 0 -- "-$pg" 2>/dev/null || return 1
  [ $(( n % 10 )) = 0 ] || return 0
  for f in /proc/[0-9]*/stat; do
    { read -r st < "$f"; } 2>/dev/null || continue
    st=\${st##*) }; set -- $st; [ "$3" = "$pg" ] && [ "$1" != Z ] && return 0
  done
  return 1
}
signal() {
  ours && kill -s "$1" -- "-$pg" 2>/dev/null
  [ "$cg" = - ] || while read -r p; do kill -s "$1" "$p"; done < "$cg/cgroup.procs" 2>/dev/null
}
reap() {
  pg=$1 ps=$2 sig=$3 ms=$4 cg=$5
  [ -n "$cg" ] || cg=-
  n=1; alive || return 0
  signal "$sig"; signal CONT
  now; end=$(( t + (ms + 9) / 10 ))
  while n=$((n + 1)); alive; do
    if [ "$ms" = 0 ]; then sleep 1; continue; fi
    now; [ "$t" -lt "$end" ] || break
    sleep 0.05
  done
  if n=1; alive; then
    ours && kill -s KILL -- "-$pg" 2>/dev/null
    [ "$cg" = - ] || { echo 1 > "$cg/cgroup.kill"; } 2>/dev/null || signal KILL
    while [ "$cg" != - ] && [ $n -lt 20 ] && alive; do n=$((n + 1)); sleep 0.05; done
  fi
  [ "$cg" = - ] || rmdir "$cg" 2>/dev/null
}
r="- - TERM 0" l="- - TERM 0" rc=- lc=- v1=
while read -r unit a b c d e; do
  case $unit in
    run) r="$a $b $c $d" rc=$e v1= ;;
    v1) v1="$v1 $a" ;;
    log) l="$a $b $c $d" lc=$e ;;
    done) exit 0 ;;
  esac
done
cd /
reap $r "$rc"
for d in $v1; do rmdir "$d" 2>/dev/null; done
reap $l "$lc"
exit 0
`;

export type ReapUnit = 'run' | 'log';

/** What the reaper stops for one unit if svrun dies now. */
export interface ReapTarget {
  /** The unit's process group (its first process's pid), or null when none runs. */
  pgid: number | null;
  /** The group leader's start time: its pid alone could name another process by then. */
  pidStart: number | null;
  signal: NodeJS.Signals;
  timeoutKillMs: number;
  cgroup: string | null;
  /** The unit's v1 cgroups (hybrid hosts), removed after the v2 one; each on a line of its own after the unit's. */
  v1Cgroups?: readonly string[];
}

/** One input line for the script; a cgroup path it could not read back whole is left out. */
export const targetLine = (unit: ReapUnit, t: ReapTarget): string => {
  const cg = t.cgroup !== null && !/[\n\\]/.test(t.cgroup) && t.cgroup.trim() === t.cgroup && t.cgroup !== '' ? t.cgroup : '-';
  const num = (n: number | null) => (n === null ? '-' : String(n));
  // a v1 path the script would split (blanks) is left out: an empty cgroup left over, never a wrong rmdir
  const v1 = (t.v1Cgroups ?? []).filter((d) => /^\/[^\s\\]*$/.test(d)).map((d) => `v1 ${d}\n`);
  return `${unit} ${num(t.pgid)} ${num(t.pgid === null ? null : t.pidStart)} ${t.signal.replace(/^SIG/, '')} ${t.timeoutKillMs} ${cg}\n${v1.join('')}`;
};

const recordFile = (superviseDir: string) => join(superviseDir, 'reaper');

/** supervise/reaper: written without following a planted symlink (src/os/safefile.ts). */
const writeRecord = (superviseDir: string, text: string): void => {
  replaceFile(recordFile(superviseDir), text, 0o644);
};

/** At most 64 bytes of a regular file: never blocks on a planted FIFO, never reads a planted giant. */
const readSmall = (file: string): string | null => {
  const r = readSettingsFile(file, 64);
  return r.kind === 'ok' ? r.text : null;
};

/** Is `pid` (with that start time) this folder's reaper? Its command line must be ours, word for word. */
const isReaperOf = (superviseDir: string, pid: number, start: number): boolean => {
  if (procStartTime(pid) !== start) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv[0] === '/bin/sh' && argv[1] === '-c' && argv[2] === REAPER_SCRIPT && argv[3] === REAPER_NAME && argv[4] === superviseDir;
  } catch {
    return false;
  }
};

/**
 * The reaper recorded in supervise/reaper, if it still runs (a zombie
 * counts as gone); null otherwise. The file is only a hint: /proc decides.
 */
export const findReaper = (superviseDir: string): { pid: number; start: number } | null => {
  const m = /^(\d{1,10}) (\d{1,20})\n$/.exec(readSmall(recordFile(superviseDir)) ?? '');
  if (!m) return null;
  const pid = Number(m[1]);
  const start = Number(m[2]);
  return pid > 1 && isAlive(pid, start) && isReaperOf(superviseDir, pid, start) ? { pid, start } : null;
};


/**
 * A killed predecessor's reaper still at work: let it finish (it stops the
 * old run as svrun would) rather than race it; past `boundMs` it is killed
 * (at once when `urgent`: a second Ctrl-C) and the caller's leftover
 * handling does the rest. Resolves true if one was found.
 */
export const awaitReaper = async (superviseDir: string, boundMs: number, urgent: () => boolean = () => false): Promise<boolean> => {
  const found = findReaper(superviseDir);
  if (!found) return false;
  const end = Date.now() + boundMs;
  while (Date.now() < end && !urgent()) {
    if (!findReaper(superviseDir)) return true;
    await sleep(GROUP_POLL_MS);
  }
  if (isReaperOf(superviseDir, found.pid, found.start)) {
    try {
      process.kill(found.pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  for (let i = 0; i < REAPER_EXIT_WAIT_MS / GROUP_POLL_MS && findReaper(superviseDir); i++) await sleep(GROUP_POLL_MS);
  return true;
};

/** svrun's side: starts the reaper, keeps it told, dismisses it on a clean exit. */
export class TaskReaper {
  private child: ChildProcess | null = null;
  private readonly lines = new Map<ReapUnit, string>();
  private dismissed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly superviseDir: string,
    private readonly onError: (text: string) => void,
  ) {
    this.start();
  }

  /** The unit's target changed (a new process group, or none): the reaper's next word on it. */
  tell(unit: ReapUnit, target: ReapTarget): void {
    const line = targetLine(unit, target);
    this.lines.set(unit, line);
    this.child?.stdin?.write(line);
  }

  /** A clean exit: the reaper leaves without touching anything; resolves once it is gone (bounded). */
  async dismiss(): Promise<void> {
    this.dismissed = true;
    if (this.retry) clearTimeout(this.retry);
    const child = this.child;
    if (!child) return;
    // ref'd again: svrun must live until the reaper is gone (bounded)
    child.ref();
    const gone = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(resolve, REAPER_EXIT_WAIT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    child.stdin?.end('done\n');
    await gone;
    try {
      unlinkSync(recordFile(this.superviseDir));
    } catch {
      /* never written */
    }
  }

  private start(): void {
    let child: ChildProcess;
    try {
      // detached: a session of its own, so the terminal's Ctrl-C, Ctrl-Z and hangup never reach it
      child = spawn('/bin/sh', ['-c', REAPER_SCRIPT, REAPER_NAME, this.superviseDir], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, cwd: '/' });
    } catch (err) {
      return this.failed(`reaper: ${errorText(err)}`);
    }
    this.child = child;
    child.on('error', (err) => this.failed(`reaper: ${errorText(err)}`));
    child.stdin?.on('error', () => {}); // a dead reaper: its exit is reported below
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (!this.dismissed) this.failed(`reaper: ${exitText({ code, signal })}`);
    });
    if (child.pid === undefined) return;
    child.unref();
    (child.stdin as { unref?: () => void } | null)?.unref?.();
    for (const line of this.lines.values()) child.stdin?.write(line);
    try {
      writeRecord(this.superviseDir, `${child.pid} ${procStartTime(child.pid) ?? 0}\n`);
    } catch (err) {
      this.onError(`reaper: supervise/reaper: ${errorText(err)}`);
    }
  }

  /** Not fatal (Principle 1): logged, and a new reaper started after a pause. */
  private failed(text: string): void {
    if (this.dismissed || this.retry) return;
    this.child = null;
    this.onError(text);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.dismissed) this.start();
    }, IO_RETRY_MS);
    this.retry.unref();
  }
}
