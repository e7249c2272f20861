// svctl's commands run in this process, through their context (src/svctl/context.ts):
// output captured instead of spawning the binary, for commands whose logic is
// pure enough (status and check on prepared status files, graph, usage errors).
// Whatever needs a supervisor stays end-to-end (test/svctl/*.test.ts with Sandbox.svctl).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { procStartTime } from '../../src/os/proc.js';
import { blankStatus, type Status, writeStatus } from '../../src/supervise/status.js';
import { svctl } from '../../src/svctl/cli.js';
import { type Ctx, type GlobalOptions, makeCtx, type Streams } from '../../src/svctl/context.js';

/** A sink that keeps what svctl prints; `out()` and `err()` read it back. */
export const captureSink = (): { sink: Streams; out: () => string; err: () => string } => {
  let out = '';
  let err = '';
  return {
    sink: { stdout: (t) => void (out += t), stderr: (t) => void (err += t) },
    out: () => out,
    err: () => err,
  };
};

/** A command's context on `scanDir` (global options as `opts`), its output captured. */
export const captureCtx = (scanDir: string, opts: Omit<GlobalOptions, 'dir'> = {}): { ctx: Ctx; out: () => string; err: () => string } => {
  const c = captureSink();
  return { ctx: makeCtx({ ...opts, dir: scanDir }, c.sink), out: c.out, err: c.err };
};

/** The whole command line (commander included) in this process: exit code and output. */
export const svctlInProcess = async (argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  const c = captureSink();
  const code = await svctl(argv, c.sink);
  return { code, stdout: c.out(), stderr: c.err() };
};

/**
 * A pid no process can have (above the kernel's PID_MAX_LIMIT, 2^22): a
 * supervisor or service recorded with it is certainly not running.
 */
export const DEAD_PID = 4_194_305;

/** This test process as a recorded supervisor: alive, with its real start time, so the status counts as supervised. */
export const thisProcessAsSupervisor = (): NonNullable<Status['supervisor']> => ({
  pid: process.pid,
  pidStart: procStartTime(process.pid),
  startedAt: new Date().toISOString(),
});

/** Writes DIR/supervise/status.json as svrun would (src/supervise/status.ts writeStatus): a down longrun, changed by `over`. */
export const prepareStatus = (dir: string, over: Partial<Status> = {}): Status => {
  const name = dir.split('/').at(-1)!;
  const status: Status = { ...blankStatus(name, 'longrun'), want: 'up', since: new Date().toISOString(), ...over };
  mkdirSync(join(dir, 'supervise'), { recursive: true });
  writeStatus(join(dir, 'supervise', 'status.json'), status);
  return status;
};
