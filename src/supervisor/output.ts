// The stdout and stderr of what svrun starts for a unit: a real pipe each
// (src/os/pipes.ts), read line by line into the unit's log, or the one
// descriptor the unit was given (the held pipe of a log/ logger). What a
// process leaves in its pipes is drained before its exit is logged, so its
// last lines come first.
import type { ChildProcess } from 'node:child_process';
import { readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { PARTIAL_LINE_IDLE_MS } from '../defaults.js';
import { cleanLine, LineSplitter, type LogSink, PARTIAL_MARKER } from '../log/builtin.js';
import { eventText, type Stream } from '../log/format.js';
import { closeFds, openPipe, type Pipe, pipeUnavailable, readEnd } from '../os/pipes.js';

/** fds 1 and 2 of a process about to be spawned; `spawned` is told the child (null: spawn threw) and lets go of svrun's copies. */
export interface Output {
  stdio: [number | 'pipe' | 'inherit', number | 'pipe' | 'inherit'];
  /** Returns what logs at once what the child wrote so far (see readOutput). */
  spawned(child: ChildProcess | null): () => void;
}

const noDrain = () => {};
/** One buffer for every drain: they run synchronously, one at a time. */
const drainBuffer = Buffer.allocUnsafe(64 * 1024);
/** A drain reads at most this much: a full pipe (64 KiB, up to 1 MiB if a service enlarged it). */
const DRAIN_MAX_BYTES = 1024 * 1024;

/** The socketpair fallback is logged once per svrun, not once per spawn. */
let socketsNoted = false;

/** Opens the output of each process a unit starts, and drains them all at the unit's end. */
export class OutputPipes {
  /** The drains of outputs still open (see readOutput). */
  private readonly drains = new Set<() => void>();

  constructor(
    private readonly log: LogSink,
    /** The descriptor every process of the unit gets as fds 1 and 2 (the held log pipe), or its own pipes. */
    private readonly given?: number | 'inherit',
  ) {}

  /** Logs at once what every output still open holds: the last output there will be. */
  drainAll(): void {
    for (const drain of [...this.drains]) drain();
  }

  /**
   * fds 1 and 2 for one process svrun starts: the descriptor the unit was
   * given (the held log pipe), or a fresh pipe each (src/os/pipes.ts), read
   * into the log once spawned. Throws (EMFILE) like a failed spawn.
   */
  open(): Output {
    const given = this.given;
    if (given !== undefined) return { stdio: [given, given], spawned: () => noDrain };
    const out = openPipe();
    if (!out) return this.socketOutput();
    let err: Pipe;
    try {
      err = openPipe()!;
    } catch (e) {
      closeFds(out.read, out.write);
      throw e;
    }
    return {
      stdio: [out.write, err.write],
      spawned: (child) => {
        // the child holds its own copies now: ours would keep the read ends from ever seeing EOF
        closeFds(out.write, err.write);
        if (child)
          return this.readOutput([
            ['out', readEnd(out.read), out.read],
            ['err', readEnd(err.read), err.read],
          ]);
        closeFds(out.read, err.read);
        return noDrain;
      },
    };
  }

  /** Without pipe2 (koffi missing): Node's socketpairs, as before, said once in the log. */
  private socketOutput(): Output {
    if (!socketsNoted) {
      socketsNoted = true;
      this.log.line(
        'svrun',
        eventText({ kind: 'error', text: `pipes: ${pipeUnavailable()}; stdout and stderr are sockets (/dev/stdout cannot be opened)` }),
      );
    }
    return {
      stdio: ['pipe', 'pipe'],
      spawned: (child) =>
        child
          ? this.readOutput([
              ['out', child.stdout, null],
              ['err', child.stderr, null],
            ])
          : noDrain,
    };
  }

  /**
   * Lines of a process's stdout and stderr into the log, until both end. The
   * drain it returns logs at once what the pipes hold (svrun reads its
   * pipe ends itself, never blocking: libuv made them non-blocking), so that
   * a process's last lines come before the `exited` line and none is left
   * unread when svrun exits; it is run at each exit, and for all at svrun's.
   */
  private readOutput(outputs: readonly [Stream, Readable | null, number | null][]): () => void {
    const drains = outputs.map(([stream, source, fd]) => {
      if (!source) return () => {};
      const split = new LineSplitter(
        (text, partial) => this.log.line(stream, cleanLine(text) + (partial ? PARTIAL_MARKER : '')),
        PARTIAL_LINE_IDLE_MS,
      );
      source.on('data', (chunk: Buffer) => {
        split.push(chunk);
        // back-pressure: a service that writes faster than the log is written waits, as on a pipe
        if (this.log.backlogged && !source.isPaused()) {
          source.pause();
          this.log.onDrain(() => source.resume());
        }
      });
      const ended = () => {
        split.end();
        this.drains.delete(drain);
      };
      source.on('end', ended);
      source.on('error', ended);
      source.on('close', ended);
      const drain = () => {
        // a destroyed stream's fd may be someone else's by now: never read it
        if (source.destroyed || source.readableEnded) return;
        while (source.read() !== null); // what the stream holds first ('data' logs it), then the pipe
        if (fd === null) return;
        // what the pipe holds now, not what a writer still running adds meanwhile (a flood would hold svrun here)
        for (let left = DRAIN_MAX_BYTES; left > 0; ) {
          let n: number;
          try {
            n = readSync(fd, drainBuffer);
          } catch {
            return; // EAGAIN: empty, a writer is still there
          }
          if (n === 0) {
            ended(); // every writer is gone: a last line without newline is written now, marked partial
            source.destroy();
            return;
          }
          split.push(Buffer.from(drainBuffer.subarray(0, n)));
          left -= n;
        }
      };
      this.drains.add(drain);
      return drain;
    });
    return () => {
      for (const d of drains) d();
    };
  }
}
