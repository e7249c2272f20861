// Bringing services up: each one is started (a new svrun, or `u`/`o` through
// its control FIFO) as soon as everything it requires is ready, so
// independent services start concurrently and nothing waits for a whole
// level. Readiness is read from status.json; a service already up is left
// alone. A failure is reported with its cause, and what required it is not
// started.
import { mkdirSync } from 'node:fs';
import { subgraph } from '../../graph.js';
import { servicePaths } from '../../supervise/paths.js';
import type { Scan } from '../../scan.js';
import type { ServiceDef } from '../../servicedir.js';
import type { Status } from '../../supervise/status.js';
import { type Launched, type LaunchOptions, launchSvrun } from './launch.js';
import { type Hosted, type HostLaunch, launchHost } from './host.js';
import { CHANGE_POLL_MS, LEFTOVERS_KILL_WAIT_MS, REAPER_MARGIN_MS, UP_WATCHED_POLL_MS } from '../../defaults.js';
import { isUp, observe } from './observe.js';
import { ask, settled, stoppedSupervisor, stoppedText, takeBack } from './letters.js';
import { failureDetail, logSettled } from './failure.js';
import { runGraph } from './schedule.js';
import { ChangeWaiter, STATUS_CHANGES } from './changewait.js';
import { noProgress, type ProgressSink, withoutName } from '../output/progress.js';
import { exitText } from '../../vocabulary.js';

export type UpWant = 'up' | 'once';

const at = (iso: string | null): number => (iso === null ? Number.NaN : Date.parse(iso));

/**
 * Ready: up and wanted as asked (a oneshot: its effect holds), or became
 * ready after `since` (a longrun that exited at once was still ready).
 */
const isReady = (def: ServiceDef, s: Status, want: UpWant, since: number): boolean =>
  (s.state === 'up' && (def.type === 'oneshot' || s.want === want)) || at(s.readyAt) >= since;

/** Whether to send the control letter: once, and never while a stop is under way (let it finish first). */
const needsAsking = (s: Status, want: UpWant): boolean =>
  s.state !== 'stopping' && s.state !== 'finishing' && (s.want !== want || s.state === 'down' || s.state === 'failed');

/** What we asked for (at `askedAt`) ended without the service becoming ready, and will not be retried. */
const endedBadly = (s: Status, askedAt: number): boolean => {
  if (at(s.since) < askedAt) return false;
  // a new supervisor records `down` before it starts anything: only a run started since counts
  return s.state === 'failed' || (s.state === 'down' && at(s.startedAt) >= askedAt);
};

const failure = async (def: ServiceDef, s: Status, askedAt: number): Promise<string> => {
  await logSettled(def, s.state, askedAt);
  const what = s.state === 'failed' ? 'failed' : 'stopped before it was ready';
  return `${def.name}: ${what}${s.lastError ? '' : ` (${exitText(s.lastExit)})`}${failureDetail(def, s)}`;
};

/** How a service that was ready has exited since `t` (`exited 3`) and what it is doing now, or null. */
export const exitedSince = (s: Status | null, t: number): { exit: string; now: string } | null => {
  if (!s?.lastExit || !(at(s.lastExit.at) >= t)) return null;
  const now =
    s.state === 'backoff'
      ? 'is restarting (backoff)'
      : s.state === 'starting' || s.state === 'up'
        ? `was restarted (${s.restarts} restart${s.restarts === 1 ? '' : 's'})`
        : s.state === 'failed'
          ? 'failed'
          : `is ${s.state}`;
  return { exit: exitText(s.lastExit), now };
};

/** svrun's own lines name the service already: they are shown as they are, with svctl's prefix. */
const svrunFailure = (def: ServiceDef, l: Launched, s: Status | null): string => {
  const lines = l.exit?.lines.map((x) => x.replace(/^svrun: /, '')) ?? [];
  if (lines.length > 0) return lines.join('; ');
  return `${def.name}: svrun exited ${l.exit?.code}${s ? ` (state ${s.state})` : ''}${failureDetail(def, s)}`;
};

/**
 * Drives one service to ready; resolves with null, or the line saying why it
 * is not ready by `deadline` (default: now + its timeout-ready). A oneshot's
 * svrun is a transaction that exits when done: its status is read after it.
 */
export const driveUp = async (
  def: ServiceDef,
  want: UpWant,
  deadline: number | null,
  launch: LaunchOptions = {},
  progress: ProgressSink = noProgress,
  hosted: Hosted | null = null,
): Promise<string | null> => {
  const t0 = Date.now();
  const name = def.name;
  // what the service is doing, told once per change: starting, or a backoff until its next start
  let told = '';
  const tell = (s: Status | null) => {
    const backoff = s?.state === 'backoff' && s.nextStartAt !== null ? Date.parse(s.nextStartAt) : null;
    const key = backoff !== null ? `backoff ${backoff}` : 'starting';
    if (key === told) return;
    told = key;
    const at = Date.now();
    if (backoff === null) progress({ kind: 'starting', name, at });
    else
      progress({
        kind: 'backoff',
        name,
        restarts: s!.restarts,
        lastExit: s!.lastExit ? exitText(s!.lastExit) : null,
        nextStartAt: backoff,
        at,
      });
  };
  const ready = (): null => {
    const at = Date.now();
    progress(told === '' ? { kind: 'unchanged', name, state: 'up', at } : { kind: 'ready', name, ms: at - t0, at });
    return null;
  };
  const until = deadline ?? t0 + def.timeoutReadyMs;
  const { supervise, control } = servicePaths(def.dir, def.name);
  try {
    mkdirSync(supervise, { recursive: true }); // so it can be watched before svrun creates it
  } catch {
    /* svrun will report it */
  }
  // every change a bring-up waits for is a status.json written, or a poke (an svrun or host exited, a
  // host's stderr grew): with the folder watched, the poll is a slow safety net (50 bring-ups at once poll too)
  const changes = new ChangeWaiter([supervise], CHANGE_POLL_MS, STATUS_CHANGES, UP_WATCHED_POLL_MS);
  // hosted: its supervisor is being started already (held down), by the host of this bring-up
  let launched: Launched | null = hosted;
  hosted?.reached(want);
  const unwatch = hosted?.onExit(() => changes.poke());
  let askedAt: number | null = null;
  /** A letter was written (not a new svrun's --want): taken back if it is still unread when we give up. */
  let lettered = false;
  const notAsked = (pid: number) => stoppedText(name, pid, `not asked to ${want === 'once' ? 'run it once' : 'start'}`);
  try {
    for (;;) {
      const o = observe(def.name, def.dir);
      const s = o.recorded;
      const ours = launched !== null && s?.supervisor?.pid === launched.pid;
      if (ours) launched!.release();
      if (s && (o.supervised || ours)) {
        if (isReady(def, s, want, askedAt ?? t0)) return ready();
        if (askedAt !== null || s.state === 'starting' || s.state === 'backoff') tell(s);
        if (askedAt !== null) {
          if (endedBadly(s, askedAt)) return await failure(def, s, askedAt);
          // stopped meanwhile: it reads nothing until continued, and this command does not wait for that
          const stopped = lettered ? stoppedSupervisor(o) : null;
          if (stopped !== null) return `${notAsked(stopped)}${takeBack(control) > 0 ? ' (the request it had not read is withdrawn)' : ''}`;
        } else if (o.supervised && needsAsking(s, want)) {
          const sentAt = Date.now();
          // the FIFO opens a moment after the supervisor starts: until then, try again at the next wake
          const r = ask(o, want === 'once' ? 'o' : 'u');
          if (typeof r === 'object') return notAsked(r.stopped);
          if (r === 'sent') {
            askedAt = sentAt;
            lettered = true;
            hosted?.asked();
            tell(null);
          }
        }
      } else if (!o.supervised && isUp(o, def.type, want)) {
        return ready(); // a oneshot whose effect holds
      }
      // another supervisor holds the folder, its supervise/ moved or replaced (it puts it back): start none, wait
      const elsewhere = !o.supervised && o.heldBy !== null && o.heldBy !== launched?.pid;
      if (!o.supervised && !elsewhere) {
        if (launched?.exit) return svrunFailure(def, launched, ours ? s : null);
        if (!launched) {
          askedAt = Date.now();
          launched = launchSvrun(def.dir, want, () => changes.poke(), launch);
          tell(null);
        }
      }
      if (Date.now() >= until) {
        if (elsewhere)
          return `${def.name}: not ready after ${Math.max(0, until - t0)} ms: supervised by pid ${o.heldBy}, but ${supervise} is not its folder (moved, replaced or removed while it ran)`;
        const state = o.supervised || ours ? (s?.state ?? 'unknown') : 'not supervised';
        // a request it never read must not be obeyed later, over whatever is asked since; but the host this
        // command started holds the service down only until asked: the letter is its --want, and stays
        const withdrawn = lettered && !hosted && takeBack(control) > 0 ? '; it never read the request, which is withdrawn' : '';
        return `${def.name}: not ready after ${Math.max(0, until - t0)} ms (state ${state}${withdrawn})${failureDetail(def, s)}`;
      }
      await changes.next(until);
    }
  } finally {
    settled(control);
    changes.close();
    unwatch?.();
    launched?.release();
  }
};

/**
 * Brings `targets` up in dependency order (each target's requires must be
 * among the targets). Resolves with one line per service that failed or was
 * not started, in start order; empty when all are ready.
 */
export const bringUp = async (
  scan: Scan,
  targets: ReadonlyMap<string, UpWant>,
  deadline: number | null,
  launch: LaunchOptions = {},
  progress: ProgressSink = noProgress,
  /** Done first for each service, when its turn comes (restart: a kept supervisor reads its folder); a line fails it. */
  first: (def: ServiceDef) => Promise<string | null> = async () => null,
): Promise<string[]> => {
  const want = (name: string): UpWant => targets.get(name) ?? 'up';
  const def = (name: string): ServiceDef => scan.services.get(name)!;
  const began = Date.now();
  const readied: string[] = [];
  const told: ProgressSink = (e) => {
    if (e.kind === 'ready') readied.push(e.name);
    progress(e);
  };
  const host = launch.host ? startHost(scan, targets.keys(), launch) : null;
  const hosted = (name: string) => (host?.services.has(name) ? host.launch.service(def(name)) : null);
  const results = await runGraph(subgraph(scan.graph, targets.keys()), 'requires-first', {
    act: async (name) => (await first(def(name))) ?? driveUp(def(name), want(name), deadline, launch, told, hosted(name)),
    already: (name) => isUp(observe(name, def(name).dir), def(name).type, want(name)),
    waiting: (name, on) => progress({ kind: 'waiting', name, toward: 'up', on, at: Date.now() }),
    settled: (name, r, acted) => {
      const at = Date.now();
      if (r.kind === 'failed') progress({ kind: 'failed', name, reason: withoutName(name, r.problem), at });
      else if (r.kind === 'blocked') progress({ kind: 'blocked', name, toward: 'up', reason: `${r.causes.join(', ')} failed`, at });
      else if (!acted) progress({ kind: 'unchanged', name, state: 'up', at });
    },
  });
  if (host) await host.launch.settle(Date.now() + claimBoundMs(host.services.values()));
  // ready, but exited since (a longrun that crashes at once): said by the time up reports, so a crash loop shows
  for (const name of readied) {
    const d = def(name);
    const since = d.type === 'longrun' ? exitedSince(observe(name, d.dir).recorded, began) : null;
    if (since) progress({ kind: 'exited', name, ...since, at: Date.now() });
  }
  return results.flatMap(([name, r]) =>
    r.kind === 'failed' ? [r.problem] : r.kind === 'blocked' ? [`${name}: not started because ${r.causes.join(', ')} failed`] : [],
  );
};

/**
 * `--host`: one svrun for every longrun among `names` that no supervisor
 * runs now, its services held down until driveUp asks each up in order; a
 * oneshot keeps its own svrun, a transaction that exits when done. Null
 * when none needs a supervisor.
 */
const startHost = (
  scan: Scan,
  names: Iterable<string>,
  launch: LaunchOptions,
): { launch: HostLaunch; services: Map<string, ServiceDef> } | null => {
  const services = new Map<string, ServiceDef>();
  for (const name of names) {
    const def = scan.services.get(name)!;
    if (def.type === 'longrun' && !observe(name, def.dir).supervised) services.set(name, def);
  }
  return services.size === 0 ? null : { launch: launchHost([...services.values()], launch), services };
};

/** How long a host may take to open a service's FIFO: a predecessor's reaper, then its leftovers (docs/svrun.md). */
const claimBoundMs = (defs: Iterable<ServiceDef>): number =>
  Math.max(0, ...[...defs].map((d) => 3 * d.timeoutKillMs)) + REAPER_MARGIN_MS + LEFTOVERS_KILL_WAIT_MS;
