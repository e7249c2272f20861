// The thin writer behind svctl's progress: the only part that knows about
// terminals. On a terminal (stderr a TTY) it redraws the frame of
// src/svctl/output/progress.ts in place (cursor up over what it drew, each line
// cleared and rewritten) as events arrive and every tick while something
// is under way, then leaves the last frame and a summary. Elsewhere it
// writes the plain lines on stdout, one per event that matters, and no
// escape code. --quiet writes nothing. In every mode it keeps the model, so
// an interruption can say what it left.
import { TERMINAL_TICK_MS } from '../../defaults.js';
import {
  applyEvent,
  frameLines,
  interruptedLine,
  noPaint,
  type Paint,
  plainLine,
  type ProgressEvent,
  type ProgressModel,
  type ProgressSink,
  summaryLine,
} from './progress.js';

export type ProgressMode = 'terminal' | 'plain' | 'quiet';

/**
 * --quiet wins; then a terminal on stderr gets the live frame; anything else
 * the plain lines on stdout, except with --json, whose stdout is for JSON only.
 */
export const progressMode = (quiet: boolean, stderrIsTTY: boolean, json = false): ProgressMode =>
  quiet ? 'quiet' : stderrIsTTY ? 'terminal' : json ? 'quiet' : 'plain';

export interface ProgressWriter {
  /** Where the commands send their events. */
  readonly emit: ProgressSink;
  /** The command is over: the last frame and the summary (terminal); `summary` false leaves it out (an interruption). */
  finish(summary?: boolean): void;
  /** The line an interruption leaves: what was still under way, in which state. */
  interrupted(): string;
  /** A line for a person at a terminal (what svctl waits for), `svctl: ` first; nothing elsewhere. */
  notice(line: string): void;
}

export interface WriterOptions {
  /** The terminal's width (lines are cut to it, so none wraps and breaks the redraw). */
  columns: number;
  paint?: Paint;
  /** When the command started, for the summary's time. */
  startedAt: number;
  now?: () => number;
  tickMs?: number;
}

// ECMA-48: cursor up N lines; erase the whole line. Only these two, only here.
const up = (n: number): string => (n > 0 ? `\x1b[${n}A` : '');
const ERASE_LINE = '\r\x1b[2K';

export const makeProgressWriter = (
  write: { stdout(text: string): void; stderr(text: string): void },
  mode: ProgressMode,
  opts: WriterOptions,
): ProgressWriter => {
  const now = opts.now ?? Date.now;
  const paint = opts.paint ?? noPaint;
  let model: ProgressModel = new Map();
  let drawn = 0;
  let ticker: NodeJS.Timeout | null = null;
  let finished = false;

  const draw = () => {
    const lines = frameLines(model, now(), Math.max(20, opts.columns - 1), paint);
    write.stderr(up(drawn) + lines.map((l) => `${ERASE_LINE}${l}\n`).join(''));
    drawn = lines.length;
  };
  const stopTicking = () => {
    if (ticker) clearInterval(ticker);
    ticker = null;
  };

  const emit: ProgressSink = (event: ProgressEvent) => {
    const previous = model.get(event.name);
    model = applyEvent(model, event);
    if (finished || mode === 'quiet') return;
    if (mode === 'plain') {
      const line = plainLine(event, previous);
      if (line !== null) write.stdout(`${line}\n`);
      return;
    }
    draw();
    // the clocks of what is under way move on their own: a wait for readiness is never a still screen
    if (!ticker) {
      ticker = setInterval(draw, opts.tickMs ?? TERMINAL_TICK_MS);
      ticker.unref();
    }
  };

  return {
    emit,
    finish: (summary = true) => {
      if (finished) return;
      finished = true;
      stopTicking();
      if (mode !== 'terminal' || model.size === 0) return;
      draw();
      if (summary) write.stderr(`${summaryLine(model, now() - opts.startedAt)}\n`);
    },
    interrupted: () => interruptedLine(model),
    // before any frame (a wait for the lock comes first): the frame is drawn below it
    notice: (line) => {
      if (mode === 'terminal' && !finished && drawn === 0) write.stderr(`svctl: ${line}\n`);
    },
  };
};
