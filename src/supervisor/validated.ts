// A service as svrun takes it from its command line: its folder read and
// validated, its user resolved, its supervise/ (and built-in log/) made safe
// and held, before anything is locked or started. Everything here fails for
// good with an SvError naming the file at fault (exit 111).
import { EXIT_INVALID } from '../defaults.js';
import { errorText, SvError } from '../errors.js';
import { type HeldDir, holdDir } from '../os/helddir.js';
import { type Identity, resolveIdentity } from '../os/identity.js';
import { procStartTime } from '../os/proc.js';
import { ensureStateDir } from '../os/safefile.js';
import { readService, type ServiceDef } from '../servicedir.js';
import { type Service as LeftoverScope, serviceScope } from '../supervise/leftovers.js';
import { pathsIn, type ServicePaths, servicePaths } from '../supervise/paths.js';
import type { Status } from '../supervise/status.js';
import type { Want } from '../vocabulary.js';

/** One DIR of svrun's command line, with the options that apply to every DIR. */
export interface ServiceArgs {
  dir: string;
  logMode: 'file' | 'stdout';
  /** What to do once supervising: svctl passes `once` for `svctl once`, `down` to start a host's services in order. */
  want: Want;
  /** --log stdout: pad the name to this width (svctl boot passes the longest name's). */
  logWidth: number;
  /** --log-color: colour the name even when stdout is no terminal (svctl boot's FIFO, when boot's own stdout is one). */
  logColor?: boolean;
}

/** The service as validated before anything is locked or started. */
export interface Service {
  args: ServiceArgs;
  def: ServiceDef;
  /** `user` resolved (only as root; otherwise the service runs as we do). */
  identity: Identity | null;
  isRoot: boolean;
  /** supervise/ through its held descriptor (src/os/helddir.ts), log/ resolved once: later swaps redirect nothing. */
  paths: ServicePaths;
  /** The real folder behind supervise/, as another process (the task reaper) finds it. */
  superviseDir: string;
  /** supervise/, held: put back under its name when it is moved or replaced (src/supervisor/folderkeeper.ts). */
  held: HeldDir;
  /** Who the old run's processes are, by what svkit itself would have made (never by status.json). */
  leftoverScope: LeftoverScope;
  /** This supervisor, as status.json names it. */
  me: NonNullable<Status['supervisor']>;
}

/** The definition, the user and the state folders; throws (exit 111) naming the file at fault. */
export const validateService = (args: ServiceArgs): Service => {
  const read = readService(args.dir);
  if (!read.ok) throw new SvError('svkit.invalid', EXIT_INVALID, read.problems);
  const def = read.def;
  const invalid = (line: string) => new SvError('svkit.invalid', EXIT_INVALID, line);
  if (def.template) throw invalid(`${def.name}: a template is never started itself; start an instance (${def.name}NAME)`);
  const isRoot = process.getuid?.() === 0;
  const identity = def.user !== null && isRoot ? resolveIdentity(def.user, `${def.name}/user`) : null;

  // supervise/ and the built-in logger's log/: real folders, or symlinks svrun's own user made
  // to a folder only it may write (src/os/safefile.ts); resolved once, so later swaps redirect nothing
  const paths = servicePaths(def.dir, def.name);
  const fileLog = !def.logRun && args.logMode === 'file';
  const folders: [string, string][] = [['supervise', paths.supervise], ...(fileLog ? [['log', paths.logDir] as [string, string]] : [])];
  const resolved = folders.map(([what, dir]) => {
    try {
      return ensureStateDir(dir);
    } catch (err) {
      throw invalid(`${def.name}/${what}: ${errorText(err)}`);
    }
  });
  const held = holdDir(paths.supervise, resolved[0]!);
  const safe = pathsIn(held.path, resolved[1] ?? paths.logDir);
  return {
    args,
    def,
    identity,
    isRoot,
    paths: safe,
    superviseDir: resolved[0]!,
    held,
    leftoverScope: serviceScope(def.name, def.dir),
    me: { pid: process.pid, pidStart: procStartTime(process.pid), startedAt: new Date().toISOString() },
  };
};
