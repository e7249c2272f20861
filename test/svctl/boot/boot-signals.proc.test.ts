// svctl boot passes SIGUSR1, SIGUSR2 and SIGWINCH on to CMD (docs/boot.md),
// run for real: as a child subreaper, and as PID 1 of its own pid namespace
// (where the kernel drops a signal that has no handler, as `docker kill -s`
// sends it). CMD traps each signal and prints a line; the line must appear.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitStatus } from '../../../src/signals.js';
import { inBothModes, isAlive, type Sandbox, SVCTL, waitFor, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const FORWARDED = ['SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

/** CMD: a line for each forwarded signal it gets, `armed` once its traps are set; ends on SIGTERM. */
const trapsEach = `for s in USR1 USR2 WINCH; do trap "echo cmd-got-$s" $s; done; echo armed; while :; do sleep 0.05; done`;

interface Boot {
  /** The pid boot has in this test's pid namespace (the one to signal). */
  pid: () => Promise<number>;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<number>;
}

/** `argv` in the background with its output in files (boot's CMD shares its stdout). */
const start = (argv: string[]): Omit<Boot, 'pid'> => {
  const out = sb.path('boot.out');
  const err = sb.path('boot.err');
  const [fo, fe] = [openSync(out, 'w'), openSync(err, 'w')];
  const child = spawn(argv[0]!, argv.slice(1), { env: sb.env, stdio: ['ignore', fo, fe], cwd: sb.dir });
  closeSync(fo);
  closeSync(fe);
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  const done = new Promise<number>((res) => child.on('exit', (c, s) => res(exitStatus(c, s))));
  return { child, stdout: () => read(out), stderr: () => read(err), done };
};

/** The children of `pid` (Linux's /proc/PID/task/PID/children). */
const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

const plainBoot = (): Boot => {
  const b = start([process.execPath, SVCTL, 'boot', '--', 'sh', '-c', trapsEach]);
  return { ...b, pid: async () => b.child.pid! };
};

/** boot as PID 1 of a new pid namespace: `unshare --fork` runs it as its only child. */
const pid1Boot = (): Boot => {
  const b = start(['unshare', '--pid', '--fork', '--mount-proc', process.execPath, SVCTL, 'boot', '--', 'sh', '-c', trapsEach]);
  const pid = async () => {
    const [inner] = await waitFor(() => (childrenOf(b.child.pid!).length === 1 ? childrenOf(b.child.pid!) : null), 'boot under unshare');
    return inner!;
  };
  return { ...b, pid };
};

const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

inBothModes(
  () => sb,
  () => {
    describe('svctl boot forwards SIGUSR1, SIGUSR2 and SIGWINCH to CMD', () => {
      for (const [how, boot, run] of [
        ['as a child subreaper', plainBoot, true],
        ['as PID 1 of its own pid namespace (needs unshare, root)', pid1Boot, canUnshare],
      ] as const) {
        it.runIf(run)(how, async () => {
          sb.service('db', 'exec sleep 1000');
          const b = boot();
          await waitFor(
            () => b.stdout().includes('armed\n'),
            () => `CMD's traps set: ${b.stdout()} ${b.stderr()}`,
            10_000,
          );
          const pid = await b.pid();
          for (const sig of FORWARDED) {
            process.kill(pid, sig);
            const line = `cmd-got-${sig.slice(3)}\n`;
            await waitFor(
              () => b.stdout().includes(line),
              () => `${line.trim()} from CMD: ${b.stdout()} ${b.stderr()}`,
            );
          }
          // each arrived once, and boot went on (SIGUSR2 would end a Node process without a handler)
          for (const sig of FORWARDED) expect(b.stdout().split(`cmd-got-${sig.slice(3)}\n`)).toHaveLength(2);
          expect(isAlive(pid)).toBe(true);
          expect(b.stderr()).toBe(''); // Node's SIGUSR1 default would have said "Debugger listening on ..."
          expect(sb.status('db')!.state).toBe('up');
          process.kill(pid, 'SIGTERM');
          // CMD does not trap TERM: it is killed by it, and boot exits with its code
          expect(await b.done).toBe(143);
          expect(sb.status('db')!.state).toBe('down');
        });
      }

      it('without CMD, boot keeps running and says what it ignored (SIGWINCH silently)', async () => {
        sb.service('db', 'exec sleep 1000');
        const b = start([process.execPath, SVCTL, 'boot']);
        const db = await sb.waitStatus('db', (s) => s.state === 'up', 'db up', 10_000);
        for (const sig of FORWARDED) b.child.kill(sig);
        await waitFor(
          () => b.stderr().includes('SIGUSR1 ignored') && b.stderr().includes('SIGUSR2 ignored'),
          () => `boot's word on both: ${b.stderr()}`,
        );
        expect(b.stderr().split('\n').filter(Boolean).sort()).toEqual([
          'svctl: boot: SIGUSR1 ignored: no CMD running (`svctl signal USR1 NAME` sends it to a service)',
          'svctl: boot: SIGUSR2 ignored: no CMD running (`svctl signal USR2 NAME` sends it to a service)',
        ]);
        expect(isAlive(b.child.pid)).toBe(true);
        expect(sb.status('db')!.pid).toBe(db.pid); // the services never saw them
        b.child.kill('SIGTERM');
        expect(await b.done).toBe(0);
      });
    });
  },
);
