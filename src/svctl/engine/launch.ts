// Starting a supervisor: svrun detached in its own session, stdin and stdout
// on /dev/null (it logs to log/current), stderr in a file with no name that
// only svctl reads (as many at once as its descriptors allow: launchgate.ts). If svrun fails fast (100 already supervised, 111
// invalid definition) its one-line message is there; once it supervises,
// svctl lets go of it and nothing ties the two together any more. While
// svctl boot runs the scan directory, a supervisor logs to boot's stdout
// instead, as boot's own do (src/log/bootstdout.ts), whichever svctl
// command starts it.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, fstatSync, readSync } from 'node:fs';
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

/** A hosting svrun, read while it runs: its stderr says which of its folders it refused (src/svctl/engine/host.ts). */
export interface Spawned extends Launched {
  /** The stderr lines so far (read again only when it grew). */
  lines(): string[];
}

const MAX_STDERR_BYTES = 64 * 1024;

/**
 * Node's options for a hosting svrun: a young generation of 1 MiB per
 * semi-space. Starting many services at once fills the default one (up to
 * 16 MiB), whose pages stay resident long after: 1.3 MiB less for a host of
 * 20 (docs/performance.md). A lone svrun does better with the default.
 */
const HOST_NODE_FLAGS = ['--max-semi-space-size=1'];

/** How svctl boot wants its supervisors: output on its own stdout, prefixed by service name. */
export interface LaunchOptions {
  /** Extra svrun options, before DIR (`--log stdout --log-width N`). */
  args?: string[];
  /** svrun's stdout: /dev/null (it logs to log/current), or svctl's own. */
  stdout?: 'ignore' | 'inherit';
  /** One svrun process hosts every supervisor a bring-up starts (`--host`, SVKIT_HOST=1; docs/svctl.md). */
  host?: boolean;
  /** Told the pid of every svrun started, with the folders it supervises. */
  onSpawn?: (pid: number, dirs: readonly string[]) => void;
  /** Told how every svrun started here ended (svctl boot supervises its supervisors). */
  onExit?: (pid: number, dirs: readonly string[], code: number | null, signal: NodeJS.Signals | null) => void;
}

/** A supervisor for the folder `dir`: a lone svrun. */
export const launchSvrun = (dir: string, want: Want, onExit: () => void, opts: LaunchOptions = {}): Launched =>
  spawnSvrun([dir], want, onExit, opts);

/** svrun for `dirs` (one, or several hosted), detached; its stderr kept for svctl alone. */
export const spawnSvrun = (dirs: readonly string[], want: Want, onExit: () => void, opts: LaunchOptions = {}): Spawned => {
  let fd: number | null = null;
  let ticket: Ticket | null = null;
  let read: { size: number; lines: string[] } = { size: 0, lines: [] };
  const readLines = (): string[] => {
    if (fd === null) return read.lines;
    const size = fstatSync(fd).size;
    if (size === read.size) return read.lines;
    const buf = Buffer.alloc(Math.min(size, MAX_STDERR_BYTES));
    const n = readSync(fd, buf, 0, buf.length, 0);
    read = {
      size,
      lines: buf
        .subarray(0, n)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== ''),
    };
    return read.lines;
  };
  const launched: Spawned = {
    pid: -1,
    exit: null,
    lines: readLines,
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
  const name = basename(dirs[0]!);
  const start = () => {
    // boot says how for its own; any other command follows what boot recorded for the scan directory
    let recorded: ReturnType<typeof recordedOutput> = null;
    let child: ChildProcess;
    try {
      // no name on disk, ever (src/os/tmpfile.ts): nothing is left behind, whatever happens to svctl
      fd = anonymousFile();
      recorded = opts.args === undefined ? recordedOutput(dirname(dirs[0]!)) : null;
      const args = recorded?.args ?? opts.args ?? [];
      child = spawn(process.execPath, [...(dirs.length > 1 ? HOST_NODE_FLAGS : []), SVRUN_JS, '--want', want, ...args, ...dirs], {
        detached: true,
        stdio: ['ignore', recorded?.stdout ?? opts.stdout ?? 'ignore', fd],
        cwd: '/',
      });
    } catch (err) {
      return failed(`${name}: cannot start a supervisor: ${errorText(err)}`);
    } finally {
      if (recorded) closeSync(recorded.stdout); // the child's copy is the one that counts
    }
    if (child.pid !== undefined) opts.onSpawn?.(child.pid, dirs);
    launched.pid = child.pid ?? -1;
    child.on('error', (err) => {
      launched.exit = { code: 127, lines: [`svrun: ${err.message}`] };
      launched.release();
      onExit();
    });
    child.on('exit', (code, signal) => {
      launched.exit = { code: exitStatus(code, signal), lines: readLines() };
      launched.release();
      if (child.pid !== undefined) opts.onExit?.(child.pid, dirs, code, signal);
      onExit();
    });
    child.unref();
  };
  // at most what the descriptor limit allows under way at once (src/svctl/engine/launchgate.ts)
  ticket = whenDescriptorFree(start, (why) => failed(`${name}: ${why}`));
  return launched;
};
