// Reloading a running service: `l` through its control FIFO makes its
// supervisor read the folder again and apply what changed (src/supervisor/reload.ts);
// the outcome is status.json's `reload`, written as soon as the folder is
// read. When the change restarted the service, svctl waits until it is
// ready again. `restart` of a service that holds sockets uses the same
// letter while the service is down, so it comes back under the same
// supervisor with its sockets (see reloadHeld).
import { RELOAD_ANSWER_MS } from '../../defaults.js';
import type { ServiceDef } from '../../servicedir.js';
import type { ReloadStatus, Status } from '../../supervise/status.js';
import { exitText } from '../../vocabulary.js';
import { ChangeWaiter } from './changewait.js';
import { failureDetail } from './failure.js';
import { type Observed, observe } from './observe.js';
import { ask, settled, stoppedText, takeBack } from './letters.js';
import { noProgress, type ProgressSink } from '../output/progress.js';
import { driveDown } from './bringdown.js';
import { stopTimeoutMs } from './stopplan.js';

/** What `svctl reload` reports of one service. */
export interface Reloaded {
  name: string;
  /** The supervisor's outcome, or null when it was not asked or did not answer. */
  record: ReloadStatus | null;
  /** After a restart, ms until ready again; else null. */
  readyMs: number | null;
  /** Why the service was not reloaded (or not ready again), as svctl's error line; null when it was. */
  problem: string | null;
}

/** A supervisor that knows `l` says so by a `reload` field (null before its first reload). */
export const canReload = (s: Status | null): boolean => s !== null && s.type === 'longrun' && 'reload' in s;

/** Why `o` cannot be reloaded, or null. */
const notReloadable = (o: Observed): string | null => {
  const s = o.recorded;
  if (!o.supervised) {
    const oneshot = s?.type === 'oneshot' ? " (a oneshot's supervisor exits once it has run)" : '';
    return `${o.name}: no supervisor${oneshot}; nothing to reload (svctl up ${o.name} starts it as its folder says)`;
  }
  if (!canReload(s))
    return `${o.name}: its supervisor${s?.supervisor ? ` (pid ${s.supervisor.pid})` : ''} cannot reload (an older svrun, or a oneshot); use svctl restart ${o.name}`;
  return null;
};

const recordSince = (s: Status | null, since: number): ReloadStatus | null => {
  const r = s?.reload;
  return r && typeof r.at === 'string' && Date.parse(r.at) >= since ? r : null;
};

/**
 * Sends `l` and waits for the supervisor's outcome (a `reload` record at or
 * after the letter): the record, or the line saying why there is none.
 */
export const askReload = async (name: string, dir: string, until: number): Promise<{ record: ReloadStatus } | { problem: string }> => {
  const o = observe(name, dir);
  const why = notReloadable(o);
  if (why) return { problem: why };
  const sentAt = Date.now();
  // never queued for a stopped supervisor, and taken back if not read in time (src/svctl/engine/letters.ts)
  const sent = ask(o, 'l');
  if (typeof sent === 'object') return { problem: stoppedText(name, sent.stopped, 'not asked to reload') };
  if (sent !== 'sent') return { problem: notReloadable({ ...o, supervised: false })! };
  const changes = new ChangeWaiter([o.paths.supervise]);
  try {
    for (;;) {
      const now = observe(name, dir);
      const record = recordSince(now.recorded, sentAt);
      if (record) return { record };
      if (!now.supervised) return { problem: `${name}: its supervisor exited before it reloaded` };
      if (Date.now() >= until) {
        const withdrawn = takeBack(o.paths.control) > 0 ? '; it never read the request, which is withdrawn' : '';
        return { problem: `${name}: its supervisor did not reload within ${RELOAD_ANSWER_MS} ms${withdrawn}` };
      }
      await changes.next(until);
    }
  } finally {
    settled(o.paths.control);
    changes.close();
  }
};

/** Waits until the service restarted by the reload at `since` is ready again: null, or why not by `until`. */
const readyAgain = async (def: ServiceDef, since: number, until: number): Promise<string | null> => {
  const o0 = observe(def.name, def.dir);
  const changes = new ChangeWaiter([o0.paths.supervise]);
  try {
    for (;;) {
      const o = observe(def.name, def.dir);
      const s = o.recorded;
      if (s && s.state === 'up' && s.readyAt !== null && Date.parse(s.readyAt) >= since) return null;
      if (!o.supervised) return `${def.name}: its supervisor exited while restarting`;
      if (s && (s.state === 'failed' || (s.state === 'down' && s.want === 'down'))) {
        return `${def.name}: ${s.state === 'failed' ? 'failed' : 'stopped'} after its restart${s.lastError ? '' : ` (${exitText(s.lastExit)})`}${failureDetail(def, s)}`;
      }
      if (Date.now() >= until)
        return `${def.name}: not ready again after its restart (state ${s?.state ?? 'unknown'})${failureDetail(def, s)}`;
      await changes.next(until);
    }
  } finally {
    changes.close();
  }
};

/** `svctl reload` of one service: asks, reports what held, and after a restart waits until it is ready again. */
export const driveReload = async (def: ServiceDef, deadline: number | null, progress: ProgressSink = noProgress): Promise<Reloaded> => {
  const t0 = Date.now();
  const name = def.name;
  const failed = (problem: string, record: ReloadStatus | null = null): Reloaded => {
    progress({ kind: 'failed', name, reason: problem.startsWith(`${name}: `) ? problem.slice(name.length + 2) : problem, at: Date.now() });
    return { name, record, readyMs: null, problem };
  };
  progress({ kind: 'reloading', name, at: t0 });
  const asked = await askReload(name, def.dir, deadline ?? t0 + RELOAD_ANSWER_MS);
  if ('problem' in asked) return failed(asked.problem);
  const { record } = asked;
  if (!record.ok) return failed(`${name}: not reloaded: ${record.error ?? 'refused'}`, record);
  let readyMs: number | null = null;
  if (record.restarted) {
    progress({ kind: 'restarting', name, changed: record.restart, at: Date.now() });
    // the stop may take its timeouts, then the new run its timeout-ready
    const until = deadline ?? Date.now() + stopTimeoutMs(def) + def.timeoutReadyMs;
    const problem = await readyAgain(def, Date.parse(record.at), until);
    if (problem) return failed(problem, record);
    readyMs = Date.now() - t0;
  }
  const at = Date.now();
  progress({
    kind: 'reloaded',
    name,
    live: record.live,
    restart: record.restart,
    restarted: record.restarted,
    newSupervisor: record.newSupervisor,
    ms: at - t0,
    at,
  });
  return { name, record, readyMs, problem: null };
};

/**
 * `restart` of a service whose supervisor is kept (it holds sockets), once
 * it is down under it: the supervisor reads its folder (`l`), so the
 * service comes back as the folder says now when `u` follows. Settings only
 * a new supervisor can apply (type, log/run) make it exit instead (its
 * sockets close), and the caller starts a new one. Null, or why not.
 */
export const reloadHeld = async (def: ServiceDef, deadline: number | null): Promise<string | null> => {
  const t0 = Date.now();
  const asked = await askReload(def.name, def.dir, deadline ?? t0 + RELOAD_ANSWER_MS);
  if ('problem' in asked) return observe(def.name, def.dir).supervised ? asked.problem : null; // gone: a new one is started
  if (!asked.record.ok) return `${def.name}: not reloaded: ${asked.record.error ?? 'refused'}`;
  if (asked.record.newSupervisor.length === 0) return null;
  const target = {
    name: def.name,
    dir: def.dir,
    type: def.type,
    timeoutKillMs: def.timeoutKillMs,
    timeoutFinishMs: def.timeoutFinishMs,
    from: 'folder' as const,
  };
  return driveDown(target, deadline);
};
