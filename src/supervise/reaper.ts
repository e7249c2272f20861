// The task reaper's side of the supervise/ protocol: the script a supervisor
// leaves beside its services (what it reads on stdin, how it stops a unit),
// and its record in each service's supervise/reaper, through which the next
// svrun and svctl find a reaper still at work. The record is a hint: /proc
// decides (start time and the exact command line). One reaper serves every
// service of one svrun (a lone svrun's one, or each a host supervises): a
// reaper costs about 0.15 MiB, which a host of many services would pay per
// service. The supervisor's side, which starts and tells the reaper, is
// src/supervisor/taskreaper.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, procStat } from '../os/proc.js';
import { readOwner } from './owner.js';

/** argv[0] of the script ($0), so `ps` shows what it is. */
export const REAPER_NAME = 'svkit-reaper';

/**
 * The reaper, run as `sh -c SCRIPT svkit-reaper ID SUPERVISE_DIR...` (a
 * service's identity and its supervise/ for each folder it serves). Input
 * lines: `I UNIT PGID START SIGNAL TIMEOUT_MS CGROUP` for the I-th folder
 * (UNIT run, v1 or log; `-` for none), `I done` once that folder's
 * supervision ended cleanly, or `done` (all ended). At end of input, each
 * folder's units are stopped, all folders at once: the service, its v1
 * cgroups, then its log/ logger; each folder's record goes when it is done,
 * so that a new svrun of a quick service does not wait for a slow one.
 * Group-only liveness is one kill -0 (a signal to a zombie is
 * harmless); every 10th check of the wait (about 0.5 s) a /proc scan looks
 * past zombies nobody reaps. Values are set through eval by name only:
 * nothing read is ever evaluated.
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
forget() { eval "r$1='- - TERM 0' rc$1=- l$1='- - TERM 0' lc$1=- v1$1= x$1=$2"; }
k=0; while [ $# -ge 2 ]; do k=$((k + 1)); forget $k; eval "d$k=\\$2"; shift 2; done
while read -r i unit a b c d e; do
  case $i in
    done) exit 0 ;;
    ''|*[!0-9]*) continue ;;
  esac
  [ "$i" -ge 1 ] && [ "$i" -le $k ] || continue
  case $unit in
    run) eval "r$i=\\"\\$a \\$b \\$c \\$d\\" rc$i=\\$e v1$i=" ;;
    v1) eval "v1$i=\\"\\$v1$i \\$a\\"" ;;
    log) eval "l$i=\\"\\$a \\$b \\$c \\$d\\" lc$i=\\$e" ;;
    done) forget $i 1 ;;
  esac
done
cd /
i=0
while [ $i -lt $k ]; do
  i=$((i + 1))
  eval "x=\\$x$i r=\\$r$i rc=\\$rc$i l=\\$l$i lc=\\$lc$i v1=\\$v1$i dir=\\$d$i"
  [ -z "$x" ] || continue
  (
    reap $r "$rc"
    for v in $v1; do rmdir "$v" 2>/dev/null; done
    reap $l "$lc"
    { read -r p _ < "$dir/reaper"; } 2>/dev/null && [ "$p" = $$ ] && rm -f "$dir/reaper"
  ) &
done
wait
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

/**
 * One input line for the script, about the `index`-th folder of its
 * command line (from 1); a cgroup path it could not read back whole is left out.
 */
export const targetLine = (unit: ReapUnit, t: ReapTarget, index = 1): string => {
  const cg = t.cgroup !== null && !/[\n\\]/.test(t.cgroup) && t.cgroup.trim() === t.cgroup && t.cgroup !== '' ? t.cgroup : '-';
  const num = (n: number | null) => (n === null ? '-' : String(n));
  // a v1 path the script would split (blanks) is left out: an empty cgroup left over, never a wrong rmdir
  const v1 = (t.v1Cgroups ?? []).filter((d) => /^\/[^\s\\]*$/.test(d)).map((d) => `${index} v1 ${d}\n`);
  return `${index} ${unit} ${num(t.pgid)} ${num(t.pgid === null ? null : t.pidStart)} ${t.signal.replace(/^SIG/, '')} ${t.timeoutKillMs} ${cg}\n${v1.join('')}`;
};

/** The `index`-th folder's supervision ended cleanly: nothing of it is the reaper's to stop any more. */
export const doneLine = (index: number): string => `${index} done\n`;

/** Every supervision ended cleanly: the reaper leaves without touching anything. */
export const ALL_DONE = 'done\n';

/** supervise/reaper: the reaper's owner record (src/supervise/owner.ts). */
export const reaperRecord = (superviseDir: string) => join(superviseDir, 'reaper');

/** What the reaper serves: a service's identity (src/os/serviceid.ts) and its supervise/ (the real folder, not svrun's held path). */
export interface ReaperFolder {
  id: string;
  superviseDir: string;
}

/** The reaper's command line for `folders`, in order. */
export const reaperArgv = (folders: readonly ReaperFolder[]): string[] => [
  '/bin/sh',
  '-c',
  REAPER_SCRIPT,
  REAPER_NAME,
  ...folders.flatMap((f) => [f.id, f.superviseDir]),
];

/**
 * Is `pid` (with that start time) a reaper serving the service `id`
 * (src/os/serviceid.ts: its argv names the service, not a path anyone
 * may swap)? It leads a session of its own (svrun starts it so) and its
 * command line is ours, word for word; a record naming anything else is
 * a planted hint.
 */
export const isReaperOf = (id: string, pid: number, start: number): boolean => {
  const st = procStat(pid);
  if (st === null || st.start !== start || st.sid !== pid) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    return (
      argv[0] === '/bin/sh' &&
      argv[1] === '-c' &&
      argv[2] === REAPER_SCRIPT &&
      argv[3] === REAPER_NAME &&
      argv.slice(4).some((a, i) => i % 2 === 0 && a === id)
    );
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
