// Hosted supervisors (`--host`, SVKIT_HOST=1): the supervisors one svctl
// call needs are started in one `svrun --want down DIR...`, which claims
// every folder at once and starts nothing; the bring-up then sends `u` or
// `o` to each in dependency order, through its control FIFO, as it would to
// any running supervisor. svctl still knows a service only by its own files;
// the one thing read from the host is its stderr, where a folder it refused
// (invalid, already supervised) is that folder's lines, exactly a lone
// svrun's: they are told apart by the service they name (errors name their
// subject first, src/errors.ts).
import { HOST_STDERR_POLL_MS } from '../../defaults.js';
import { printable } from '../../errors.js';
import { sendControl } from '../../supervise/control.js';
import type { ServiceDef } from '../../servicedir.js';
import type { Want } from '../../vocabulary.js';
import { ChangeWaiter, STATUS_CHANGES } from './changewait.js';
import { type Launched, type LaunchOptions, spawnSvrun } from './launch.js';
import { observe } from './observe.js';

/** Is the environment asking for hosted supervisors? (SVKIT_HOST=1; empty or 0: no) */
export const hostFromEnv = (env: NodeJS.ProcessEnv = process.env): boolean => {
  const v = env.SVKIT_HOST?.trim() ?? '';
  return v !== '' && v !== '0';
};

/**
 * The lines of a host's stderr that are about the service `name` in `dir`:
 * `svrun: NAME/FILE: ...`, `svrun: NAME: ...`, `svrun: NAME is already
 * supervised...`, or the folder's own path (a missing folder).
 */
export const linesOf = (name: string, dir: string, lines: readonly string[]): string[] => {
  const heads = [`svrun: ${name}/`, `svrun: ${name}:`, `svrun: ${name} `, `svrun: ${printable(dir)}:`, `svrun: ${printable(dir)}/`];
  return lines.filter((l) => heads.some((h) => l.startsWith(h)));
};

/** What a host knows of each of its services. */
export type HostedDef = Pick<ServiceDef, 'name' | 'dir'>;

/** One service of a host, as a bring-up drives it. */
export interface Hosted extends Launched {
  /** The bring-up starts driving it toward `want` (a lone svrun would be started now, with it). */
  reached(want: 'up' | 'once'): void;
  /** `u` or `o` went to it. */
  asked(): void;
  /** Wakes `fn` when the host exits. */
  onExit(fn: () => void): () => void;
}

export interface HostLaunch {
  readonly pid: number;
  /** The host's side of one of its services (a Launched that "exits" when the host refused it). */
  service(def: HostedDef): Hosted;
  /**
   * After the bring-up, each service as it would be without a host: one
   * reached but not yet asked (the deadline came before its FIFO opened)
   * is asked now, as a lone svrun started with its want would go on; one
   * never reached (what it requires failed) is let go (`x`): it would have
   * no supervisor. Bounded by `until`.
   */
  settle(until: number): Promise<void>;
}

/** Starts the host of `defs`, their services held down (`--want down`) unless `want` says otherwise. */
export const launchHost = (defs: readonly HostedDef[], opts: LaunchOptions, want: Want = 'down'): HostLaunch => {
  const waiters = new Set<() => void>();
  const startedAt = Date.now();
  const spawned = spawnSvrun(
    defs.map((d) => d.dir),
    want,
    () => {
      clearInterval(reading);
      for (const w of waiters) w();
    },
    opts,
  );
  const pending = new Set(defs.map((d) => d.dir));
  const asked = new Set<string>();
  const reached = new Map<string, 'up' | 'once'>();
  // a refusal is a line on stderr, which no watch sees: read it for the bring-ups while any waits for its claim
  let seen = 0;
  const reading = setInterval(() => {
    const n = spawned.lines().length;
    if (n === seen) return;
    seen = n;
    for (const w of waiters) w();
  }, HOST_STDERR_POLL_MS);
  reading.unref();
  const released = (dir: string) => {
    pending.delete(dir);
    if (pending.size > 0) return;
    clearInterval(reading);
    spawned.release();
  };
  /** Lines about no service of ours (the host's own: too few descriptors, a crash). */
  const hostLines = (lines: readonly string[]) => lines.filter((l) => !defs.some((d) => linesOf(d.name, d.dir, [l]).length > 0));
  return {
    // -1 while the launch waits for a free descriptor (src/svctl/engine/launchgate.ts)
    get pid() {
      return spawned.pid;
    },
    service: (def) => ({
      get pid() {
        return spawned.pid;
      },
      get exit() {
        const all = spawned.exit?.lines ?? spawned.lines();
        const mine = linesOf(def.name, def.dir, all);
        if (spawned.exit) return { code: spawned.exit.code, lines: mine.length > 0 ? mine : hostLines(all) };
        // refused while the host supervises the others: as a lone svrun that exited with these lines
        return mine.length > 0 ? { code: 111, lines: mine } : null;
      },
      release: () => released(def.dir),
      reached: (w) => reached.set(def.dir, w),
      asked: () => asked.add(def.dir),
      onExit: (fn) => {
        waiters.add(fn);
        return () => waiters.delete(fn);
      },
    }),
    settle: async (until) => {
      const left = new Map(defs.filter((d) => !asked.has(d.dir)).map((d) => [d.name, d]));
      if (left.size === 0) return;
      const changes = new ChangeWaiter(
        [...left.values()].map((d) => observe(d.name, d.dir).paths.supervise),
        undefined,
        STATUS_CHANGES,
      );
      const lettered = new Set<string>();
      try {
        for (;;) {
          for (const [name, d] of left) {
            const o = observe(name, d.dir);
            const s = o.recorded;
            const refused = spawned.exit !== null || linesOf(name, d.dir, spawned.lines()).length > 0;
            // a supervision of the host that ended meanwhile names no supervisor, since the host started
            const ended = s !== null && s.supervisor === null && Date.parse(s.since) >= startedAt;
            const claimed = s?.supervisor?.pid === spawned.pid && o.supervised;
            const w = reached.get(d.dir);
            const letter = w === undefined ? 'x' : w === 'once' ? 'o' : 'u';
            if (refused || ended || (letter === 'x' && lettered.has(name) && !o.supervised)) left.delete(name);
            // claimed: the letter once its FIFO is open (after a predecessor's leftovers, as any supervisor);
            // one let go is waited for, as `down` waits for its supervisor to be gone
            else if (claimed && !lettered.has(name) && sendControl(o.paths.control, letter) === 'sent') {
              lettered.add(name);
              if (letter !== 'x') left.delete(name);
            }
          }
          if (left.size === 0 || Date.now() >= until) return;
          await changes.next(until);
        }
      } finally {
        changes.close();
      }
    },
  };
};
