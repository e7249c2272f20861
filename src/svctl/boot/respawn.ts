// svctl boot supervises the supervisors (docs/boot.md): an svrun
// that dies without being asked (SIGKILL, a crash) is started again at once
// (it stops what the dead one left before it starts anything), and logged;
// one that keeps dying at once is restarted with the services' own backoff.
// A supervisor asked to go (`x` from svctl down or remove, a stop signal)
// records `want: down` before it exits, and is left alone; so is a oneshot's
// svrun, which exits when its transaction is done.
import { join } from 'node:path';
import { RESPAWN_SWEEP_MS } from '../../defaults.js';
import { nextShortRuns, restartDelay } from '../../backoff.js';
import { readEntries } from '../../scan.js';
import type { Status } from '../../supervise/status.js';
import { type Launched, type LaunchOptions, launchSvrun } from '../engine/launch.js';
import { launchHost } from '../engine/host.js';
import { observe } from '../engine/observe.js';
import { exitText, type Want } from '../../vocabulary.js';

/**
 * The `--want` to restart a supervisor with, or null to leave it: only a
 * longrun's supervisor that died while its service was wanted up (or once).
 */
export const respawnWant = (s: Status | null, supervised: boolean): Want | null => {
  if (s === null || supervised || s.type !== 'longrun' || s.supervisor === null) return null;
  return s.want === 'up' || s.want === 'once' ? s.want : null;
};

export interface Respawner {
  /** Look now (SIGCHLD, a child's exit). */
  poke(): void;
  stop(): void;
}

export interface RespawnOptions {
  scanDir: string;
  /** boot's way of starting supervisors (output on its stdout); its onSpawn/onExit are kept. */
  launch: LaunchOptions;
  say: (line: string) => void;
  /** While true (a bring-up or the shutdown under way), nothing is restarted. */
  paused: () => boolean;
}

/** Service folders by name, as svctl reads them (src/scan.ts; no definitions: a dead supervisor's folder may be invalid now). */
const folders = (scanDir: string): string[] => {
  try {
    return readEntries(scanDir).entries.flatMap((e) => (e.template ? [] : [e.name]));
  } catch {
    return [];
  }
};

/** How many endings of our children are kept for the log line (those asked to exit are never looked up). */
const MAX_ENDED = 256;

export const startRespawner = (o: RespawnOptions): { respawner: Respawner; launch: LaunchOptions } => {
  /** svruns we started that have not exited yet: their exit event says how they ended. */
  const children = new Set<number>();
  /** How our children ended, by pid, until logged. */
  const ended = new Map<number, string>();
  /** Per service folder: the backoff, and a restart that is pending or under way. */
  const state = new Map<
    string,
    { shortRuns: number; lastStartAt: number | null; timer: NodeJS.Timeout | null; launched: Launched | null }
  >();
  let stopped = false;
  let scheduled: NodeJS.Timeout | null = null;

  const poke = () => {
    if (!stopped) scheduled ??= setTimeout(sweep, 0);
  };

  const launch: LaunchOptions = {
    ...o.launch,
    onSpawn: (pid, dirs) => {
      children.add(pid);
      o.launch.onSpawn?.(pid, dirs);
    },
    onExit: (pid, dirs, code, signal) => {
      children.delete(pid);
      ended.set(pid, exitText({ code, signal }));
      if (ended.size > MAX_ENDED) ended.delete(ended.keys().next().value!);
      o.launch.onExit?.(pid, dirs, code, signal);
      poke();
    },
  };

  /** --host: the supervisors due now are started together, one host per want (their own, not down: nothing orders a respawn). */
  const due = new Map<string, { name: string; want: Want }>();
  let flushing: NodeJS.Immediate | null = null;
  const flush = () => {
    flushing = null;
    for (const want of ['up', 'once'] as const) {
      const group = [...due].filter(([, d]) => d.want === want).map(([dir, d]) => ({ dir, name: d.name }));
      if (group.length === 0) continue;
      const host = launchHost(group, launch, want);
      for (const g of group) state.get(g.dir)!.launched = host.service(g);
    }
    due.clear();
  };

  const restart = (name: string, dir: string, want: Want) => {
    const st = state.get(dir)!;
    st.timer = null;
    if (stopped || o.paused()) return;
    const now = observe(name, dir);
    if (respawnWant(now.recorded, now.supervised) === null) return; // someone else started one meanwhile
    st.lastStartAt = Date.now();
    if (o.launch.host) {
      due.set(dir, { name, want });
      flushing ??= setImmediate(flush);
      return;
    }
    const l: Launched = launchSvrun(
      dir,
      want,
      () => {
        // a supervisor that fails before it supervises (an invalid folder: 111) says why on its stderr
        if (l.exit && l.exit.code !== 0) for (const line of l.exit.lines) o.say(`boot: ${name}: ${line}`);
        if (st.launched === l) st.launched = null;
      },
      launch,
    );
    st.launched = l;
  };

  const sweep = () => {
    scheduled = null;
    if (stopped || o.paused()) return;
    for (const name of folders(o.scanDir)) {
      const dir = join(o.scanDir, name);
      const obs = observe(name, dir);
      const st = state.get(dir) ?? { shortRuns: 0, lastStartAt: null, timer: null, launched: null };
      state.set(dir, st);
      // the one we restarted supervises: its stderr is of no more use
      if (st.launched && obs.recorded?.supervisor?.pid === st.launched.pid) {
        st.launched.release();
        st.launched = null;
      }
      // a host that refused this folder (or exited) says why in lines of its own (a lone svrun's are said at its exit)
      if (st.launched && 'asked' in st.launched && st.launched.exit) {
        if (st.launched.exit.code !== 0) for (const line of st.launched.exit.lines) o.say(`boot: ${name}: ${line}`);
        st.launched.release();
        st.launched = null;
      }
      const want = respawnWant(obs.recorded, obs.supervised);
      if (want === null || st.timer !== null || (st.launched && !st.launched.exit)) continue;
      const dead = obs.recorded!.supervisor!;
      // our own child: its exit event (with how it ended) is on its way
      if (children.has(dead.pid)) continue;
      // the backoff of services (docs/svrun.md, the state machine): a supervisor that lived 10 s starts the sequence again
      st.shortRuns = st.lastStartAt === null ? 0 : nextShortRuns(st.shortRuns + 1, Date.now() - st.lastStartAt);
      const delay = restartDelay(st.shortRuns);
      // kept (bounded by MAX_ENDED): a host's death is every one of its services'
      const how = ended.get(dead.pid);
      o.say(`boot: ${name}: supervisor pid ${dead.pid} died${how ? ` (${how})` : ''}; restarting it${delay > 0 ? ` in ${delay} ms` : ''}`);
      st.timer = setTimeout(() => restart(name, dir, want), delay);
    }
  };

  process.on('SIGCHLD', poke);
  const timer = setInterval(poke, RESPAWN_SWEEP_MS);
  timer.unref();

  return {
    launch,
    respawner: {
      poke,
      stop: () => {
        stopped = true;
        process.off('SIGCHLD', poke);
        clearInterval(timer);
        if (scheduled) clearTimeout(scheduled);
        if (flushing) clearImmediate(flushing);
        for (const st of state.values()) {
          if (st.timer) clearTimeout(st.timer);
          st.launched?.release();
        }
      },
    },
  };
};
