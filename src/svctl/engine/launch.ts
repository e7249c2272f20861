// Starting a supervisor: svrun detached in its own session, stdin and stdout
// on /dev/null (it logs to log/current), stderr in a file with no name that
// only svctl reads (as many at once as its descriptors allow: launchgate.ts). If svrun fails fast (100 already supervised, 111
// invalid definition) its one-line message is there; once it supervises,
// svctl lets go of it and nothing ties the two together any more. While
// svctl boot runs the scan directory, a supervisor logs to boot's stdout
// instead, as boot's own do (src/log/bootstdout.ts), whichever svctl
// command starts it.
import { spawn } from 'node:child_process';
import { closeSync, readSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { errorText } from '../../errors.js';
import { anonymousFile } from '../../os/tmpfile.js';
import { SVRUN_JS } from '../../programs.js';
import { exitStatus } from '../../signals.js';
import { recordedOutput } from '../../log/bootstdout.js';
import type { Want } from '../../vocabulary.js';
import { type Ticket, whenDescriptorFree } from './launchgate.js';


export interface Launched {
  /** -1 while the launch waits for a free descriptor. */
  pid: number;
  /** svrun's exit, once it has exited: its code (128+N for signal N) and stderr lines. */
  exit: { code: number; lines: string[] } | null;
  /** Stops reading stderr (the supervisor is running), or drops the launch while it waits; idempotent. */
  release(): void;
}

const MAX_STDERR_BYTES = 16 * 1024;

/** How svctl boot wants its supervisors: output on its own stdout, prefixed by service name. */
export interface LaunchOptions {
  /** Extra svrun options, before DIR (`--log stdout --log-width N`). */
  args?: string[];
  /** svrun's stdout: /dev/null (it logs to log/current), or svctl's own. */
  stdout?: 'ignore' | 'inherit';
  /** Told the pid of every svrun started. */
  onSpawn?: (pid: number, dir: string) => void;
  /** Told how every svrun started here ended (svctl boot supervises its supervisors). */
  onExit?: (pid: number, dir: string, code: number | null, signal: NodeJS.Signals | null) => void;
}

export const launchSvrun = (dir: string, want: Want, onExit: () => void, opts: LaunchOptions = {}): Launched => {
  let fd: number | null = null;
  let ticket: Ticket | null = null;
  const launched: Launched = {
    pid: -1,
    exit: null,
    release: () => {
      if (fd !== null) closeSync(fd);
      fd = null;
      ticket?.done(); // a launch still waiting for a descriptor is dropped
    },
  };
  const failed = (line: string) => {
    launched.exit = { code: 127, lines: [`svrun: ${line}`] };
    // as for a spawn error, later: the caller has its Launched (and the gate its ticket) by then
    setImmediate(() => {
      launched.release();
      onExit();
    });
  };
  const readLines = (): string[] => {
    if (fd === null) return [];
    const buf = Buffer.alloc(MAX_STDERR_BYTES);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split('\n').filter((l) => l.trim() !== '');
  };
  const start = () => {
    // boot says how for its own; any other command follows what boot recorded for the scan directory
    let recorded: ReturnType<typeof recordedOutput> = null;
    let child;
    try {
      // no name on disk, ever (src/os/tmpfile.ts): nothing is left behind, whatever happens to svctl
      fd = anonymousFile();
      recorded = opts.args === undefined ? recordedOutput(dirname(dir)) : null;
      const args = recorded?.args ?? opts.args ?? [];
      child = spawn(process.execPath, [SVRUN_JS, '--want', want, ...args, dir], {
        detached: true,
        stdio: ['ignore', recorded?.stdout ?? opts.stdout ?? 'ignore', fd],
        cwd: '/',
      });
    } catch (err) {
      return failed(`${basename(dir)}: cannot start a supervisor: ${errorText(err)}`);
    } finally {
      if (recorded) closeSync(recorded.stdout); // the child's copy is the one that counts
    }
    if (child.pid !== undefined) opts.onSpawn?.(child.pid, dir);
    launched.pid = child.pid ?? -1;
    child.on('error', (err) => {
      launched.exit = { code: 127, lines: [`svrun: ${err.message}`] };
      launched.release();
      onExit();
    });
    child.on('exit', (code, signal) => {
      launched.exit = { code: exitStatus(code, signal), lines: readLines() };
      launched.release();
      if (child.pid !== undefined) opts.onExit?.(child.pid, dir, code, signal);
      onExit();
    });
    child.unref();
  };
  // at most what the descriptor limit allows under way at once (src/svctl/engine/launchgate.ts)
  ticket = whenDescriptorFree(start, (why) => failed(`${basename(dir)}: ${why}`));
  return launched;
};
