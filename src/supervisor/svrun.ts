// svrun DIR [DIR...]: one process supervising each DIR exactly as a lone
// `svrun DIR` would (supervision.ts: its own lock, status.json, control FIFO,
// log, cgroup, task reaper). This is the host, the process-wide part: the
// command line, the signals (a stop signal stops every service as its own
// svrun would), uncaught errors (recorded where a user sees them, never
// fatal to the others), and the exit code. A lone `svrun DIR` is a host of
// one: same path, same lines, same exit codes.
import { writeSync } from 'node:fs';
import { EXIT_INVALID, EXIT_LOCKED, EXIT_OK, EXIT_USAGE } from '../defaults.js';
import { errorText, failure, oneLine, SvError } from '../errors.js';
import { hostDescriptorShortage } from '../os/fds.js';
import type { Want } from '../vocabulary.js';
import { HELP, USAGE } from './help.js';
import { type HostSide, prepareSupervision, type Supervision } from './supervision.js';
import { TaskReaper } from './taskreaper.js';

export interface SvrunArgs {
  dirs: string[];
  logMode: 'file' | 'stdout';
  /** What to do once supervising: svctl passes `once` for `svctl once`, `down` for the services of a host it brings up in order. */
  want: Want;
  /** --log stdout: pad the name to this width (svctl boot passes the longest name's). */
  logWidth: number;
  /** --log-color: colour the name even when stdout is no terminal (svctl boot's FIFO, when boot's own stdout is one). */
  logColor?: boolean;
}

/** svrun's arguments; throws a usage error (exit 2) naming what is wrong. */
export const parseArgs = (argv: string[]): SvrunArgs => {
  const usage = (why: string) => new SvError('svkit.usage', EXIT_USAGE, `${why} (${USAGE})`);
  let logMode: SvrunArgs['logMode'] = 'file';
  let want: Want = 'up';
  let logWidth = 0;
  let logColor = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [opt, inline] =
      a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (opt === '--log') {
      const v = inline ?? argv[++i];
      if (v !== 'file' && v !== 'stdout') throw usage(`--log expects file or stdout, got "${v ?? ''}"`);
      logMode = v;
    } else if (opt === '--log-width') {
      const v = inline ?? argv[++i] ?? '';
      if (!/^\d{1,3}$/.test(v)) throw usage(`--log-width expects a number up to 999, got "${v}"`);
      logWidth = Number(v);
    } else if (a === '--log-color') {
      logColor = true;
    } else if (opt === '--want') {
      const v = inline ?? argv[++i];
      if (v !== 'up' && v !== 'once' && v !== 'down') throw usage(`--want expects up, once or down, got "${v ?? ''}"`);
      want = v;
    } else if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    } else if (a.startsWith('-') && a !== '-') throw usage(`unknown option "${a}"`);
    else rest.push(a);
  }
  if (rest.length === 0) throw usage('missing DIR');
  return { dirs: rest, logMode, want, logWidth, ...(logColor ? { logColor } : {}) };
};

/** One line on stderr, straight to fd 2 (no stream: svctl boot's supervisors share it). */
const say = (line: string): void => {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    /* nowhere to say it */
  }
};

/** How a hosted service's supervision ended: its exit code, and whether it supervised at all. */
type Outcome = { supervised: boolean; code: number };

/** Prints a refusal (one line per problem, `svrun: ` first) and returns its exit code. */
const refuse = (err: unknown): Outcome => {
  const { lines, exitCode } = failure('svrun', err, EXIT_INVALID);
  for (const l of lines) say(l);
  return { supervised: false, code: exitCode };
};

/**
 * The host's exit code: the highest of the services it supervised (0
 * stopped on request, 1 a failed oneshot, 100 a lock another supervisor
 * took back); when it supervised none, why: the refusals' code if they
 * share one (100: all already supervised), else 111. With one DIR, that is
 * exactly a lone svrun's code.
 */
export const hostExitCode = (outcomes: readonly Outcome[]): number => {
  const supervised = outcomes.filter((o) => o.supervised).map((o) => o.code);
  if (supervised.length > 0) return Math.max(...supervised);
  const codes = new Set(outcomes.map((o) => o.code));
  return codes.size === 1 ? [...codes][0]! : EXIT_INVALID;
};

/**
 * svrun from start to exit: every DIR validated (a refused one is its own
 * lines on stderr, the others go on), supervised until each ends; resolves
 * with the exit code. Throws only for the command line as a whole (exit 2,
 * or 111 for too few descriptors).
 */
export const svrun = async (argv: string[]): Promise<number> => {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  const args = parseArgs(argv);
  const short = hostDescriptorShortage(args.dirs.length);
  if (short) throw new SvError('svkit.invalid', short.exitCode, short.line.replace(/^svrun: /, ''));

  const hosted = new Set<Supervision>();
  let interrupts = 0;
  let reaper: TaskReaper;
  const side: HostSide = {
    urgent: () => interrupts > 1,
    several: args.dirs.length > 1,
    livesOn: () => hosted.size > 1,
    // the reaper is made below, once every folder's supervise/ is known, before any supervision runs
    joinReaper: (id, dir, onError) => reaper.join(id, dir, onError),
  };
  const outcomes: Outcome[] = [];
  const supervisions: Supervision[] = [];
  const folders = new Set<string>();
  for (const dir of args.dirs) {
    try {
      const s = prepareSupervision(
        { dir, logMode: args.logMode, want: args.want, logWidth: args.logWidth, ...(args.logColor && { logColor: true }) },
        side,
      );
      // the same folder twice (or two names for it) would fight over one lock: the first has it
      if (folders.has(s.id)) throw new SvError('svkit.locked', EXIT_LOCKED, `${s.name} is already supervised by pid ${process.pid}`);
      folders.add(s.id);
      supervisions.push(s);
    } catch (err) {
      outcomes.push(refuse(err));
    }
  }
  // one task reaper for every service (src/supervise/reaper.ts), started with the first process of any
  reaper = new TaskReaper(supervisions.map((s) => ({ id: s.id, superviseDir: s.superviseDir })));
  handleSignals(hosted, () => ++interrupts);
  process.on('uncaughtException', (err) => {
    // whose it is cannot be told: every service it may concern records it
    const text = `internal: ${errorText(err)}`;
    let told = false;
    for (const s of hosted) told = s.noteError(text) || told;
    if (!told) say(`svrun: ${oneLine(text)}`);
  });
  const ended = supervisions.map(async (s): Promise<Outcome> => {
    hosted.add(s);
    try {
      return { supervised: true, code: await s.run() };
    } catch (err) {
      return refuse(err);
    } finally {
      hosted.delete(s);
    }
  });
  outcomes.push(...(await Promise.all(ended)));
  await reaper.close();
  return hostExitCode(outcomes);
};

/**
 * Signals are handled from before any claim: once status.json names us,
 * while we wait for a predecessor's reaper too (a second Ctrl-C: kill at
 * once). Each reaches every service still hosted, as it would its own svrun.
 */
const handleSignals = (hosted: ReadonlySet<Supervision>, interrupted: () => number): void => {
  const onStop = (sig: NodeJS.Signals) => {
    const again = sig === 'SIGINT' && interrupted() > 1;
    for (const s of hosted) {
      if (again) s.killNow();
      else s.terminate();
    }
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, onStop);
  process.on('SIGTSTP', () => {
    for (const s of hosted) s.freeze('SIGSTOP');
    process.kill(process.pid, 'SIGSTOP');
  });
  process.on('SIGCONT', () => {
    for (const s of hosted) s.freeze('SIGCONT');
  });
};
