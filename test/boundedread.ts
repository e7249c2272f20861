// readService() run in a child process under a deadline: a read that blocks
// (a FIFO opened in blocking mode) or balloons (/dev/zero read whole) fails
// the test at the deadline instead of freezing the test worker. One child
// serves many folders (one JSON line in, one out), so a fuzz run of hundreds
// of cases stays quick; a child that missed a deadline is killed by pid and
// replaced.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

export type Outcome =
  | { kind: 'ok' }
  | { kind: 'errors'; errors: string[] }
  | { kind: 'threw'; message: string }
  | { kind: 'timeout'; ms: number };

const SCRIPT = `
import { createInterface } from 'node:readline';
const { readService } = await import(process.argv[1]);
process.stdout.write('ready\\n');
for await (const dir of createInterface({ input: process.stdin })) {
  let out;
  try {
    const r = readService(JSON.parse(dir));
    out = r.ok ? { kind: 'ok' } : { kind: 'errors', errors: r.problems };
  } catch (err) {
    out = { kind: 'threw', message: String(err && err.stack || err) };
  }
  process.stdout.write(JSON.stringify(out) + '\\n');
}
`;

export class BoundedReader {
  private child: ChildProcess | null = null;
  /** Resolves once the current child has loaded readService: deadlines count from there, not from node's start. */
  private ready: Promise<void> = Promise.resolve();
  private onReady: (() => void) | null = null;
  private buffered = '';
  private waiting: ((line: string) => void) | null = null;

  /** The heap given to the child: a read that balloons dies here, not in the machine's memory. */
  constructor(private readonly heapMb = 256) {}

  private start(): ChildProcess {
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${this.heapMb}`, '--input-type=module', '-e', SCRIPT, join(ROOT, 'dist/src/servicedir.js')],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      if (this.child !== child) return; // a killed child's late output answers no one
      this.buffered += d;
      if (this.onReady && this.buffered.startsWith('ready\n')) {
        this.buffered = this.buffered.slice('ready\n'.length);
        this.onReady();
        this.onReady = null;
      }
      const nl = this.buffered.indexOf('\n');
      if (nl >= 0 && this.waiting) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        const w = this.waiting;
        this.waiting = null;
        w(line);
      }
    });
    child.on('exit', () => {
      if (this.child !== child) return; // killed and replaced: its exit answers no one
      this.child = null;
      this.onReady?.();
      this.onReady = null;
      const w = this.waiting;
      this.waiting = null;
      w?.(JSON.stringify({ kind: 'threw', message: `reader exited (${child.exitCode ?? child.signalCode})` }));
    });
    this.buffered = '';
    this.ready = new Promise<void>((r) => (this.onReady = r));
    return child;
  }

  /** readService(dir) in the child, or `timeout` after `ms` (the child is then killed). */
  async read(dir: string, ms = 3000): Promise<Outcome> {
    const child = (this.child ??= this.start());
    await this.ready;
    if (this.child !== child) return { kind: 'threw', message: `reader exited (${child.exitCode ?? child.signalCode})` };
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        this.kill();
        resolve({ kind: 'timeout', ms });
      }, ms);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Outcome);
      };
      child.stdin!.write(`${JSON.stringify(dir)}\n`);
    });
  }

  /** Kills the child by its pid. */
  kill(): void {
    const c = this.child;
    this.child = null;
    if (c?.pid && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}
