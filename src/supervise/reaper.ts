// The task reaper's side of the supervise/ protocol: the script a supervisor
// leaves beside each service (what it reads on stdin, how it stops a unit),
// and its record in supervise/reaper, through which the next svrun and
// svctl find a reaper still at work. The record is a hint: /proc decides
// (start time and the exact command line). The supervisor's side, which
// starts and tells the reaper, is src/supervisor/taskreaper.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, procStat } from '../os/proc.js';
import { readOwner } from './owner.js';

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

/** supervise/reaper: the reaper's owner record (src/supervise/owner.ts). */
export const reaperRecord = (superviseDir: string) => join(superviseDir, 'reaper');

/**
 * Is `pid` (with that start time) the reaper of the service `id`
 * (src/os/serviceid.ts: its argv names the service, not a path anyone
 * may swap)? It leads a session of its own (svrun starts it so) and its
 * command line is ours, word for word; a record naming anything else is
 * a planted hint.
 */
export const isReaperOf = (id: string, pid: number, start: number): boolean => {
  const st = procStat(pid);
  if (st === null || st.start !== start || st.sid !== pid) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv[0] === '/bin/sh' && argv[1] === '-c' && argv[2] === REAPER_SCRIPT && argv[3] === REAPER_NAME && argv[4] === id && argv.length === 6;
  } catch {
    return false;
  }
};

/**
 * The reaper recorded in supervise/reaper, if it still runs (a zombie
 * counts as gone); null otherwise. The file is only a hint: /proc decides.
 */
export const findReaper = (superviseDir: string, id: string | (() => string)): { pid: number; start: number } | null => {
  const o = readOwner(reaperRecord(superviseDir));
  if (o === null || o.pidStart === null || o.pid <= 1 || !isAlive(o.pid, o.pidStart)) return null;
  return isReaperOf(typeof id === 'string' ? id : id(), o.pid, o.pidStart) ? { pid: o.pid, start: o.pidStart } : null;
};
