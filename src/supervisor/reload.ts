// `l` (svctl reload): the supervisor reads its service folder again and puts
// what changed in force (src/supervisor/reloaddiff.ts says how for each
// setting): live settings at once (the state machine's, the cgroup limits,
// log rotation), a change of what the service runs by restarting it under
// this supervisor, its sockets kept unless `listen` changed. An invalid
// folder changes nothing; `type` and `log/run` wait for a new supervisor.
// The outcome goes to status.json's `reload`, which svctl reads.
import { realpathSync, statSync } from 'node:fs';
import { errorText } from '../errors.js';
import type { LogSink } from '../log/builtin.js';
import { eventText } from '../log/format.js';
import { type Identity, resolveIdentity } from '../os/identity.js';
import { readService, type ServiceDef } from '../servicedir.js';
import { reloadDiff, type Snapshot } from './reloaddiff.js';
import { applyServiceLimits, type ServiceCgroups } from './resources.js';
import type { ListenSockets } from './sockets.js';
import type { Reconfiguration, Supervisor } from './supervisor.js';

/** A file's identity and content stamp (the file a symlink names, as exec would run it); null when absent. */
export const fingerprint = (file: string | null): string | null => {
  if (file === null) return null;
  try {
    const st = statSync(file);
    return `${realpathSync(file)} ${st.dev}:${st.ino} ${st.size} ${st.mtimeMs} ${st.ctimeMs} ${st.mode}`;
  } catch {
    return null;
  }
};

export const snapshotOf = (def: ServiceDef): Snapshot => ({
  def,
  files: { run: fingerprint(def.run), finish: fingerprint(def.finish), check: fingerprint(def.check), logRun: fingerprint(def.logRun) },
});

const LIMIT_FILES = ['memory-max', 'cpu-max', 'pids-max', 'nofile'];

export interface ReloadDeps {
  isRoot: boolean;
  cgroups: ServiceCgroups;
  log: LogSink;
  sockets: ListenSockets;
  /** The supervisor to reconfigure (null before it exists). */
  supervisor: () => Supervisor | null;
  /** The `nofile` prlimit wrapper and the limits status in force now. */
  nofile: Reconfiguration['nofile'];
  limits: Reconfiguration['limits'];
}

export class Reloader {
  private held: Snapshot;
  private identity: Identity | null;

  constructor(
    def: ServiceDef,
    identity: Identity | null,
    private readonly deps: ReloadDeps,
  ) {
    this.held = snapshotOf(def);
    this.identity = identity;
  }

  /** Reads the folder and hands what changed to the supervisor; never throws (a failure is the outcome's `error`). */
  reload(): void {
    const sup = this.deps.supervisor();
    if (!sup) return;
    const at = new Date().toISOString();
    const refuse = (error: string) => {
      this.deps.log.line('svrun', eventText({ kind: 'error', text: `reload: ${error}` }));
      sup.reconfigure(null, { at, ok: false, live: [], restart: [], newSupervisor: [], error });
    };
    const read = readService(this.held.def.dir);
    if (!read.ok) return refuse(read.problems.join('; '));
    const next = snapshotOf(read.def);
    const diff = reloadDiff(this.held, next);
    // what only a new supervisor can change stays as it runs now
    const def: ServiceDef = { ...read.def, type: this.held.def.type, logRun: this.held.def.logRun };
    let identity = this.identity;
    if (diff.restart.includes('user')) {
      try {
        identity = def.user !== null && this.deps.isRoot ? resolveIdentity(def.user, `${def.name}/user`) : null;
      } catch (err) {
        return refuse(errorText(err));
      }
    }
    if ([...diff.live, ...diff.restart].some((f) => LIMIT_FILES.includes(f))) {
      // written to the live cgroups now; nofile (prlimit) holds from the next start
      const applied = applyServiceLimits(def, this.deps.cgroups, (t) => this.deps.log.line('svrun', eventText({ kind: 'error', text: t })));
      this.deps.nofile = applied.nofile;
      this.deps.limits = applied.status;
    }
    if (diff.live.includes('log/config')) this.deps.log.setRotation?.(def.logRotation);
    if (diff.restart.includes('listen')) {
      this.deps.sockets.update(def.listen);
      try {
        this.deps.sockets.bind(); // at once where it can be; a failure is reported when the service starts
      } catch {
        /* retried at the start */
      }
    }
    this.held = { def, files: { ...next.files, logRun: this.held.files.logRun } };
    this.identity = identity;
    sup.reconfigure(
      { def, identity, nofile: this.deps.nofile, limits: this.deps.limits, restart: diff.restart.length > 0 },
      { at, ok: true, live: diff.live, restart: diff.restart, newSupervisor: diff.newSupervisor, error: null },
    );
  }
}
