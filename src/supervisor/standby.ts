// The next run of a service, spawned ahead (src/os/procgroup.ts, Standby):
// when a restart comes, svrun writes one line instead of forking, joining
// the cgroups (an RCU grace period, most of a restart's cost: see
// docs/decisions.md) and running the wrapper execs. The policy is pure
// (standbyWanted); StandbySlot holds at most one standby and keeps it in
// step with the policy.
import type { ChildProcess } from 'node:child_process';
import { STANDBY_DELAY_MS } from '../defaults.js';
import type { Standby } from '../os/procgroup.js';
import type { Config, Core } from './state.js';

/**
 * Is a standby worth keeping now? While a restart may come: a longrun
 * that restarts, wanted up, with a run live or about to be. Not with
 * pids-max (the standby would take one of the service's processes), and,
 * after a standby ended on its own (its wrappers failed, or it was
 * killed), not until a run was up since (a failing wrapper would otherwise
 * fail twice per restart).
 */
export const standbyWanted = (c: Core, cfg: Config, pidsMax: number | null, failedAt: number | null): boolean =>
  !cfg.oneshot &&
  cfg.restart !== 'never' &&
  pidsMax === null &&
  c.want === 'up' &&
  !c.exiting &&
  (failedAt === null || (c.readyAt !== null && c.readyAt > failedAt)) &&
  (c.state === 'starting' || c.state === 'up' || c.state === 'stopping' || c.state === 'finishing' || c.state === 'backoff');

/** A standby and the drain of its output pipes (src/supervisor/output.ts, readOutput). */
export interface HeldStandby {
  standby: Standby;
  drain: () => void;
}

/** At most one standby: spawned STANDBY_DELAY_MS after it is wanted (never in the way of a run's start-up), discarded once it is not. */
export class StandbySlot {
  private held: HeldStandby | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Discarded, its exit not seen yet: the service is not stopped, nor the supervision over, until it is gone. */
  private discarded: Standby | null = null;
  /** When a standby last ended on its own. */
  failedAt: number | null = null;

  /** `spawn` starts one (null: it could not; the next restart spawns as it would without). */
  constructor(private readonly spawn: () => HeldStandby | null) {}

  /** One is kept while `wanted`; otherwise none is. */
  keep(wanted: boolean): void {
    if (!wanted) {
      this.cancelTimer();
      return this.discard();
    }
    if (this.held || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, STANDBY_DELAY_MS);
    this.timer.unref();
  }

  /** The pid that is not the service's: the standby while it waits (one discarded counts as the service's: see `leaving`). */
  get pid(): number | null {
    return this.held?.standby.pid ?? null;
  }

  /** A standby discarded is not gone yet: the service is not stopped until it is (with or without a cgroup). */
  get leaving(): boolean {
    return this.discarded !== null;
  }

  /** The standby as the next run, told to exec it; null when there is none or it is gone. */
  take(): { child: ChildProcess; drain: () => void } | null {
    const held = this.held;
    if (!held) return null;
    this.held = null;
    if (held.standby.release()) return { child: held.standby.child, drain: held.drain };
    this.discarded = held.standby;
    held.standby.discard();
    return null;
  }

  /** Discards the standby for good; `then` runs once it is gone (it would keep the cgroup from being removed). */
  close(then: () => void): void {
    this.cancelTimer();
    this.discard();
    const leaving = this.discarded?.child;
    if (!leaving || leaving.exitCode !== null || leaving.signalCode !== null) return then();
    leaving.once('exit', () => then());
  }

  private start(): void {
    if (this.held) return;
    const held = this.spawn();
    if (!held) return;
    this.held = held;
    held.standby.child.once('exit', () => {
      // ended unused: what it wrote (a wrapper's error) is logged, and the next restart spawns as it would without
      if (this.held === held) {
        this.held = null;
        this.failedAt = Date.now();
      }
      if (this.discarded === held.standby) this.discarded = null;
      held.drain();
    });
  }

  private discard(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    this.discarded = held.standby;
    held.standby.discard();
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
