// Colours for svctl's terminal output, through picocolors (no escape codes
// written by hand). Whether to colour is decided here, once, from the
// environment and the stream, never by picocolors' own guess (which looks
// at stdout even for stderr, and colours whenever $CI is set):
// NO_COLOR (any non-empty value, no-color.org) turns colours off; a
// non-empty FORCE_COLOR other than 0 or false turns them on; otherwise only
// a terminal (and not TERM=dumb) gets them.
import pc from 'picocolors';
import type { Paint, Tone } from './progress.js';
import type { State } from '../../vocabulary.js';

export type Colors = ReturnType<typeof pc.createColors>;

export const colorWanted = (env: NodeJS.ProcessEnv, isTTY: boolean): boolean => {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  return isTTY && env.TERM !== 'dumb';
};

export const colors = (enabled: boolean): Colors => pc.createColors(enabled);

/** The progress lines' tones: going yellow, done green, failed red, the rest as it is. */
export const tonePaint =
  (c: Colors): Paint =>
  (tone: Tone, text: string) =>
    tone === 'busy' ? c.yellow(text) : tone === 'good' ? c.green(text) : tone === 'bad' ? c.red(text) : text;

/** What `status` shows in STATE: a state, or `unsupervised` / `reaping` (see status.ts stateWord). */
export type StateWord = State | 'unsupervised' | 'reaping';

/** up green; on its way yellow; failed, in backoff or running with no supervisor red; down dim. */
export const paintState = (c: Colors, word: string): string => {
  switch (word as StateWord) {
    case 'up':
      return c.green(word);
    case 'starting':
    case 'stopping':
    case 'finishing':
    case 'reaping':
      return c.yellow(word);
    case 'failed':
    case 'backoff':
    case 'unsupervised':
      return c.red(word);
    case 'down':
      return c.dim(word);
    default:
      return word;
  }
};
