// What svctl knows about a service comes from its supervise/ folder only:
// status.json says what the supervisor last recorded, and the supervisor pid
// (with its start time) or a reader on the control FIFO says whether a
// supervisor runs at all. Without one, the service counts as down.
import { closeSync } from 'node:fs';
import { openWriter } from '../../os/fifo.js';
import { servicePaths, type ServicePaths } from '../../supervise/paths.js';
import { liveLeftovers, serviceScope } from '../../supervise/leftovers.js';
import { bootTimeMs, isAlive } from '../../os/proc.js';
import { folderLockHolder } from '../../os/flock.js';
import { blankStatus, readStatus, type Status } from '../../supervise/status.js';
import { findReaper } from '../../supervise/reaper.js';
import { serviceId } from '../../os/serviceid.js';
import type { Scan, ScanEntries, ScanEntry } from '../../scan.js';
import { readService } from '../../servicedir.js';
import type { ServiceType, State } from '../../vocabulary.js';

export interface Observed {
  name: string;
  /** The service folder. */
  dir: string;
  paths: ServicePaths;
  /** status.json as recorded, or null when missing or unreadable. */
  recorded: Status | null;
  supervised: boolean;
  /**
   * Not supervised by what supervise/ says, yet a supervisor holds the
   * service folder's lock (src/supervise/lock.ts): its pid (0: in another
   * pid namespace). Its supervise/ is not where it is looked for (moved or
   * replaced while it ran: it puts it back), or it is starting. Else null.
   */
  heldBy: number | null;
}

/** Processes a killed supervisor left behind, running with no one to watch them: their process group. */
export interface Leftovers {
  pgid: number;
}

/**
 * `reaper`: with no supervisor, the pid of the task reaper still stopping
 * what a killed one left (src/supervisor/taskreaper.ts). `heldBy`: the pid
 * of a supervisor holding the service whose supervise/ cannot be read
 * (Observed.heldBy): not known to be down.
 */
export type ShownStatus = Status & { supervised: boolean; leftovers: Leftovers | null; reaper?: number; heldBy?: number };

/** Opening for writing succeeds only while someone reads: a probe with no side effect on svrun. */
export const fifoHasReader = (path: string): boolean => {
  try {
    const fd = openWriter(path);
    if (fd === null) return false;
    closeSync(fd);
    return true;
  } catch {
    return false;
  }
};

export const supervisorAlive = (s: Status | null): boolean => s?.supervisor != null && isAlive(s.supervisor.pid, s.supervisor.pidStart);

export const observe = (name: string, dir: string): Observed => {
  const paths = servicePaths(dir, name);
  const read = readStatus(paths.status);
  const recorded = read.kind === 'ok' ? read.status : null;
  const supervised = supervisorAlive(recorded) || fifoHasReader(paths.control);
  return { name, dir, paths, recorded, supervised, heldBy: supervised ? null : folderLockHolder(dir) };
};

/**
 * The state without a supervisor: down for a longrun (no one runs it). A
 * oneshot's svrun exits once its transaction is done, so its recorded up
 * (since this boot: a reboot undoes its effect) or failed stands.
 */
export const unsupervisedState = (s: Status | null, type: ServiceType): State => {
  if (s === null || type !== 'oneshot') return 'down';
  if (s.state === 'up') return Date.parse(s.since) >= bootTimeMs() ? 'up' : 'down';
  return s.state === 'failed' ? 'failed' : 'down';
};

/**
 * What runs unsupervised: with no supervisor alive, the group of the pid it
 * last recorded still has members (a SIGKILLed svrun; a main process that
 * ignores its parent-death signal, or grandchildren). They run until the next
 * svrun, `svctl up` or `svctl down`, stops them. The one place status, check
 * and --json learn it from.
 */
export const leftoversOf = (o: Observed): Leftovers | null =>
  !o.supervised && o.recorded?.pid && hasLeftovers(o.recorded, o) ? { pgid: o.recorded.pid } : null;

/**
 * The status to show: as recorded while supervised; else with the state
 * above and no pid (no one watches it). The type is asked for (`typeOf`) only
 * without a supervisor or status.json: status and check then read a service's
 * definition only when it matters.
 */
export const shownStatus = (o: Observed, typeOf: ServiceType | (() => ServiceType)): ShownStatus => {
  const type = () => (typeof typeOf === 'function' ? typeOf() : typeOf);
  const base = o.recorded ?? blankStatus(o.name, type());
  if (o.supervised) return { ...base, supervised: true, leftovers: null };
  const shown = { ...base, state: unsupervisedState(o.recorded, type()), pid: null, pidStart: null, nextStartAt: null, supervised: false };
  return { ...shown, leftovers: leftoversOf(o), ...beingReaped(o), ...(o.heldBy !== null && { heldBy: o.heldBy }) };
};

/** Unsupervised, being reaped: a killed supervisor's task reaper is stopping what it left; not yet "down". */
export const beingReaped = (o: Observed): { reaper: number } | null => {
  // the identity only when a record names a live process: most services have none (it costs a realpath and a hash)
  const found = o.supervised ? null : findReaper(o.paths.supervise, () => serviceId(o.name, o.dir));
  return found && { reaper: found.pid };
};

/** Up and wanted so: a longrun by a supervisor, a oneshot while its effect holds. */
export const isUp = (o: Observed, type: ServiceType, want: 'up' | 'once' = 'up'): boolean => {
  const s = o.recorded;
  if (o.supervised) return s?.state === 'up' && (type === 'oneshot' || s.want === want);
  return unsupervisedState(s, type) === 'up';
};

/**
 * Running in the sense of `restart` and `down`: supervised and not wanted
 * down, or a oneshot that is up, or held by a supervisor whose supervise/
 * is not where it is looked for (what it wants is not known: asked anyway).
 */
export const isRunning = (o: Observed, type: ServiceType): boolean =>
  o.supervised ? o.recorded?.want !== 'down' : o.heldBy !== null || unsupervisedState(o.recorded, type) === 'up';

/** A dead supervisor's service still has processes (its next svrun stops them first); status.json alone proves nothing. */
export const hasLeftovers = (s: Status | null, o: Pick<Observed, 'name' | 'dir'>): boolean => liveLeftovers(s, serviceScope(o.name, o.dir));

/** From the scan's definitions when it has them (wait, metrics), else read from the folder (status, check read none up front). */
const typeOf = (e: ScanEntry, scan: Scan | ScanEntries): ServiceType => {
  const known = 'services' in scan ? scan.services.get(e.name) : undefined;
  if (known) return known.type;
  const read = readService(e.dir);
  return read.ok ? read.def.type : 'longrun';
};

/** The status to show for a scan entry; its type is read only when the status needs it (see shownStatus). */
export const entryStatus = (e: ScanEntry, scan: Scan | ScanEntries): ShownStatus =>
  shownStatus(observe(e.name, e.dir), () => typeOf(e, scan));
