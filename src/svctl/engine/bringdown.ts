// Bringing services down in reverse dependency order: a service is stopped
// only once every service that requires it is down. Stopping means `x`
// through the control FIFO (stop the service, then exit the supervisor) and
// waiting until the supervisor is gone. Leftovers of a killed supervisor are
// stopped by a short-lived `svrun --want down`, which cleans up before it
// starts anything. The order and the waits come from a StopPlan, which is
// built whether the folders are valid or not.
import { subgraph } from '../../graph.js';
import type { Status } from '../../supervise/status.js';
import { type Launched, launchSvrun } from './launch.js';
import { beingReaped, hasLeftovers, isRunning, type Observed, observe } from './observe.js';
import { ask, settled, stoppedSupervisor, stoppedText, takeBack } from './letters.js';
import { notAFifo } from '../../os/fifo.js';
import { runGraph } from './schedule.js';
import { type StopPlan, type StopTarget, stopTimeoutMs } from './stopplan.js';
import { ChangeWaiter, STATUS_CHANGES } from './changewait.js';
import { noProgress, type ProgressSink, withoutName } from '../output/progress.js';

/** A oneshot that is up (or failed) is taken down by a `svrun --want down` transaction, which runs its `stop`. */
const needsTransaction = (def: Pick<StopTarget, 'type'>, s: Status | null): boolean =>
  def.type === 'oneshot' && s !== null && s.state !== 'down';

/**
 * Drives one service down (supervisor exited); resolves with null or the line
 * saying why it is not down by the deadline. `keep`: stop the service with
 * `d` and keep its supervisor (and the sockets it holds) for the `up` that follows.
 */
export const driveDown = async (
  def: StopTarget,
  deadline: number | null,
  progress: ProgressSink = noProgress,
  keep = false,
): Promise<string | null> => {
  const t0 = Date.now();
  const until = deadline ?? t0 + stopTimeoutMs(def);
  const o0 = observe(def.name, def.dir);
  if (!o0.supervised && o0.heldBy === null && !beingReaped(o0) && !hasLeftovers(o0.recorded, o0) && !needsTransaction(def, o0.recorded)) {
    progress({ kind: 'unchanged', name: def.name, state: 'down', at: t0 });
    return null;
  }
  const notAsked = (pid: number) => stoppedText(def.name, pid, 'not asked to stop');
  // `x` before anything else: the supervisors of a level then stop together, while svctl sets up its waits
  // (sent before the watch is armed is not lost: the loop looks at the status before it waits)
  const letter = keep ? 'd' : 'x';
  let sent = false;
  const askToStop = (o: Observed): number | null => {
    const r = ask(o, letter);
    if (typeof r === 'object') return r.stopped;
    sent = r === 'sent';
    return null;
  };
  const stopped0 = o0.supervised ? askToStop(o0) : null;
  if (stopped0 !== null) return notAsked(stopped0);
  progress({ kind: 'stopping', name: def.name, at: t0 });
  const down = (): null => {
    const at = Date.now();
    progress({ kind: 'down', name: def.name, ms: at - t0, at });
    return null;
  };
  const changes = new ChangeWaiter([o0.paths.supervise], undefined, STATUS_CHANGES);
  let launched: Launched | null = null;
  let launchedAt = 0;
  try {
    for (;;) {
      const o = observe(def.name, def.dir);
      const s = o.recorded;
      if (o.supervised) {
        // until the FIFO has a reader (a supervisor still starting), try again at the next wake
        const wasSent = sent;
        const stopped = sent ? stoppedSupervisor(o) : askToStop(o);
        // stopped meanwhile: it reads nothing until continued, and this command does not wait for that
        if (stopped !== null)
          return `${notAsked(stopped)}${sent && takeBack(o.paths.control) > 0 ? ' (the request it had not read is withdrawn)' : ''}`;
        // `d` under a supervisor that stays: down once it says so
        if (wasSent && keep && s?.want === 'down' && (s.state === 'down' || s.state === 'failed')) return down();
      } else if (!launched && o.heldBy !== null) {
        // a supervisor holds the folder but its supervise/ is not here (moved or replaced): it puts it back, then is asked
      } else if (!launched && beingReaped(o)) {
        // a killed supervisor's task reaper is stopping what it left, as that supervisor would: down once it is done
      } else if (!launched && (hasLeftovers(s, o) || needsTransaction(def, s))) {
        launchedAt = Date.now();
        launched = launchSvrun(def.dir, 'down', () => changes.poke());
      } else if (!launched || launched.exit) {
        // a oneshot's stop that failed leaves it failed, saying why
        if (launched && s?.state === 'failed' && Date.parse(s.since) >= launchedAt) return `${def.name}: ${s.lastError ?? 'stop failed'}`;
        // svrun refused (an invalid folder: 111) and nothing was stopped
        if (launched?.exit && launched.exit.code !== 0 && (hasLeftovers(s, o) || needsTransaction(def, s))) {
          const why = launched.exit.lines.map((l) => l.replace(/^svrun: /, '')).join('; ') || `svrun exited ${launched.exit.code}`;
          const what = hasLeftovers(s, o) ? 'processes a killed supervisor left are still running' : 'its stop did not run';
          return `${def.name}: ${what}: svrun cannot run it (${why})`;
        }
        return down();
      }
      if (Date.now() >= until) {
        if (!o.supervised && !launched && o.heldBy !== null) {
          return `${def.name}: still supervised by pid ${o.heldBy} after ${Math.max(0, until - t0)} ms, but ${o.paths.supervise} is not its folder (moved, replaced or removed while it ran): stop it with kill -TERM ${o.heldBy}`;
        }
        const reaper = o.supervised ? null : beingReaped(o);
        const what = o.supervised
          ? `still ${s?.state ?? 'supervised'}`
          : reaper
            ? `still being reaped (task reaper pid ${reaper.reaper})`
            : 'leftover processes still running';
        const pid = s?.supervisor?.pid;
        // a request it never read must not be obeyed later, over whatever is asked since
        const withdrawn = sent && takeBack(o.paths.control) > 0 ? '; it never read the request, which is withdrawn' : '';
        const planted = o.supervised && !sent ? notAFifo(o.paths.control) : null;
        const why = planted ? `; ${o.paths.control} is ${planted}, not its FIFO: nothing could be sent` : '';
        return `${def.name}: ${what} after ${Math.max(0, until - t0)} ms${o.supervised && pid ? ` (supervisor pid ${pid}${withdrawn}${why})` : ''}`;
      }
      await changes.next(until);
    }
  } finally {
    settled(o0.paths.control);
    changes.close();
    launched?.release();
  }
};

/**
 * Stops `names` (which must include everything that requires them), each
 * after all its dependents among them are down. Resolves with one line per
 * service not down, in stop order; empty on success.
 */
export const bringDown = async (
  plan: StopPlan,
  names: Iterable<string>,
  deadline: number | null,
  progress: ProgressSink = noProgress,
  keep: ReadonlySet<string> = new Set(),
): Promise<string[]> => [...(await notDown(plan, names, deadline, progress, keep)).values()];

/** bringDown's problems by service: the services that are not down, each with its line. */
export const notDown = async (
  plan: StopPlan,
  names: Iterable<string>,
  deadline: number | null,
  progress: ProgressSink = noProgress,
  /** Services stopped under a supervisor that stays (see driveDown). */
  keep: ReadonlySet<string> = new Set(),
): Promise<Map<string, string>> => {
  const target = (name: string): StopTarget => plan.targets.get(name)!;
  const results = await runGraph(
    subgraph(
      plan.graph,
      [...names].filter((n) => plan.targets.has(n)),
    ),
    'dependents-first',
    {
      act: (name) => driveDown(target(name), deadline, progress, keep.has(name)),
      already: (name) => !isRunning(observe(name, target(name).dir), target(name).type),
      waiting: (name, on) => progress({ kind: 'waiting', name, toward: 'down', on, at: Date.now() }),
      settled: (name, r, acted) => {
        const at = Date.now();
        if (r.kind === 'failed') progress({ kind: 'failed', name, reason: withoutName(name, r.problem), at });
        else if (r.kind === 'blocked') progress({ kind: 'blocked', name, toward: 'down', reason: `${r.by.join(', ')} not down`, at });
        else if (!acted) progress({ kind: 'unchanged', name, state: 'down', at });
      },
    },
  );
  return new Map(
    results.flatMap(([name, r]): [string, string][] =>
      r.kind === 'failed'
        ? [[name, r.problem]]
        : r.kind === 'blocked'
          ? [[name, `${name}: not stopped because ${r.by.join(', ')} ${r.by.length > 1 ? 'are' : 'is'} not down`]]
          : [],
    ),
  );
};
