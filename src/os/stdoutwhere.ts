// Where this process's stdout goes, as a person would look for it: svctl
// boot records it, so `svctl logs` under boot can say where the lines are
// instead of guessing Docker (it may be a terminal, a file, the journal).
import { existsSync, fstatSync, readFileSync, readlinkSync } from 'node:fs';

/** The systemd unit this process runs in (`svkit.service`), from its cgroup; null outside one. */
const systemdUnit = (): string | null => {
  try {
    const path = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '';
    return /\/([^/]+\.service)(\/|$)/.exec(path)?.[1] ?? null;
  } catch {
    return null;
  }
};

/** stdout is the stream systemd connected to the journal ($JOURNAL_STREAM names its device and inode). */
const toJournal = (env: NodeJS.ProcessEnv): boolean => {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(1);
    return String(st.dev) === m[1] && String(st.ino) === m[2];
  } catch {
    return false;
  }
};

/** In a container: PID 1 of its own pid namespace, or the marker files Docker and Podman leave. */
const inContainer = (): boolean => process.pid === 1 || existsSync('/.dockerenv') || existsSync('/run/.containerenv');

/** `the terminal /dev/pts/3`, `the journal (journalctl -u svkit.service)`, `the container's log (docker logs)`, a file's path, or `its stdout`. */
export const stdoutWhere = (env: NodeJS.ProcessEnv = process.env): string => {
  let target: string;
  try {
    target = readlinkSync('/proc/self/fd/1');
  } catch {
    return 'its stdout';
  }
  if (/^\/dev\/(pts\/\d+|tty\w*|console)$/.test(target)) return `the terminal ${target}`;
  if (target === '/dev/null') return 'nowhere (/dev/null)';
  if (target.startsWith('/')) return target.replace(/ \(deleted\)$/, '');
  if (toJournal(env)) {
    const unit = systemdUnit();
    return `the journal (journalctl ${unit ? `-u ${unit}` : `_PID=${process.pid}`})`;
  }
  if (inContainer()) return "the container's log (docker logs)";
  return `its stdout (${target})`;
};
