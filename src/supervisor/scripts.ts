// `finish` (after each exit of a longrun's run) and a oneshot's `stop`: run
// with the unit's output, bounded by timeout-finish, and their whole
// process group killed after them, so nothing they started outlives them.
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { errorText } from '../errors.js';
import type { LogSink } from '../log/builtin.js';
import { eventText } from '../log/format.js';
import { type Containment, killGroup } from '../os/procgroup.js';
import type { Output, OutputPipes } from './output.js';

/** A script is killed by its own process group alone. */
const UNGROUPED: Containment = { cgroup: null, setpriv: null };

export interface ScriptRun {
  what: 'finish' | 'stop';
  /** Starts the script, contained like the service, with these descriptors. */
  spawn(stdio: StdioOptions): ChildProcess;
  output: OutputPipes;
  timeoutMs: number;
  log: LogSink;
  onError(text: string): void;
  /** Its exit code, or null when it could not start or was killed. */
  done(code: number | null): void;
}

export const runScript = (o: ScriptRun): void => {
  const fail = (err: unknown) => {
    o.onError(`${o.what}: ${errorText(err)}`);
    o.done(null);
  };
  let child: ChildProcess;
  let output: Output | null = null;
  try {
    output = o.output.open();
    child = o.spawn(['ignore', ...output.stdio]);
  } catch (err) {
    output?.spawned(null);
    return fail(err);
  }
  const drain = output.spawned(child);
  const pid = child.pid;
  if (pid === undefined) {
    child.once('error', fail);
    return;
  }
  const timer = setTimeout(() => {
    o.log.line('svrun', eventText({ kind: 'error', text: `${o.what}: killed after ${o.timeoutMs} ms` }));
    killGroup(UNGROUPED, pid);
  }, o.timeoutMs);
  child.on('error', () => {});
  child.once('exit', (code) => {
    drain();
    clearTimeout(timer);
    killGroup(UNGROUPED, pid);
    o.done(code);
  });
};
