// One error model for svkit. Library code throws an SvError: a stable code,
// the exit code its program documents, and one line per problem, subject
// first (`web/run: ...`), without the program prefix. Only the two entry
// points (cmd/svrun.ts, and svctl's action wrapper in src/svctl/cli.ts) print
// it, prefixed, and turn it into an exit code; no other module exits the
// process (test/errors.test.ts checks). Pure checks that collect several
// problems return a Result instead, and their caller throws.

import { exitStatus } from './signals.js';

export type SvErrorCode =
  | 'svkit.usage'
  | 'svkit.invalid'
  | 'svkit.locked'
  | 'svkit.cycle'
  | 'svkit.missing-service'
  | 'svkit.failed'
  | 'svkit.timeout'
  /** Ended by a stop signal: exit 128+N, nothing to print. */
  | 'svkit.signal';

export class SvError extends Error {
  /** One line per problem (several when a file or a directory has several); empty for a signal. */
  readonly lines: readonly string[];
  constructor(
    readonly code: SvErrorCode,
    readonly exitCode: number,
    lines: string | readonly string[],
  ) {
    const all = typeof lines === 'string' ? [lines] : [...lines];
    super(all[0] ?? code);
    this.lines = all;
    this.name = 'SvError';
  }
}

/** Ended by `sig`: the conventional exit 128+N, nothing printed. */
export const signalled = (sig: NodeJS.Signals): SvError => new SvError('svkit.signal', exitStatus(null, sig), []);

/**
 * What a checked function returns when it reports every problem at once
 * rather than throwing at the first (servicedir's readService, instance
 * creation): `T`'s fields with `ok: true`, or the problems, one line each.
 */
export type Result<T extends object> = ({ ok: true } & T) | { ok: false; problems: string[] };

/**
 * `fn` applied to each item; an SvError thrown for some items does not stop
 * the others: their lines are thrown together, as one SvError (the first's
 * code), so a command names every bad argument at once.
 */
export const collectErrors = <T, R>(items: Iterable<T>, fn: (item: T) => R): R[] => {
  const out: R[] = [];
  let first: SvError | null = null;
  const lines: string[] = [];
  for (const item of items) {
    try {
      out.push(fn(item));
    } catch (err) {
      if (!(err instanceof SvError)) throw err;
      first ??= err;
      lines.push(...err.lines);
    }
  }
  if (first) throw new SvError(first.code, first.exitCode, lines);
  return out;
};

/**
 * What an entry point does with anything thrown at it: the lines to print
 * (prefixed `PROGRAM: `, one line each whatever they quote) and the exit
 * code; anything but an SvError is one line and `fallback`.
 */
export const failure = (program: string, err: unknown, fallback: number): { lines: string[]; exitCode: number } => {
  if (err instanceof SvError) return { lines: err.lines.map((l) => `${program}: ${oneLine(l)}`), exitCode: err.exitCode };
  return { lines: [`${program}: ${oneLine(err instanceof Error ? err.message : String(err))}`], exitCode: fallback };
};

/** Paths reached through a held descriptor (/proc/self/fd/N), and the names they are known by. */
const shownAs = new Map<string, string>();

/**
 * From now on, errorText shows `path` (a held folder's /proc/self/fd/N,
 * src/os/helddir.ts) as `name`: an error names the file as a person knows it.
 */
export const showPathAs = (path: string, name: string): void => {
  shownAs.set(path, name);
};

/** `text` with `path` shown as `name` (not where a digit follows: /proc/self/fd/2 is no prefix of /proc/self/fd/21). */
const showPath = (text: string, path: string, name: string): string => {
  let out = '';
  let from = 0;
  for (let j = text.indexOf(path); j >= 0; j = text.indexOf(path, from)) {
    const end = j + path.length;
    out += text.slice(from, j) + (/\d/.test(text[end] ?? '') ? path : name);
    from = end;
  }
  return out + text.slice(from);
};

/** Anything thrown, as a one-line message. */
export const errorText = (err: unknown): string => {
  let text = err instanceof Error ? err.message : String(err);
  for (const [path, name] of shownAs) text = showPath(text, path, name);
  return text.split('\n')[0] ?? text;
};

// Values and names an error quotes come from untrusted files and folder
// names: a newline would make two lines, an ESC would drive the terminal.
// Every control character (C0, DEL, C1) and the Unicode line and paragraph
// separators are shown as JSON-style escapes, so an error is one line of
// plain text whatever it quotes.
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
const escapeControl = (c: string): string => {
  const code = c.charCodeAt(0);
  return SHORT[c] ?? (code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`);
};

/** `s` with its control characters escaped (`\n`, `\x1b`): a name as it may be printed. Idempotent. */
export const printable = (s: string): string => s.replace(CONTROL, escapeControl);

/** A value an error quotes: `"..."`, with `"`, `\` and control characters escaped. */
export const quote = (s: string): string => `"${printable(s.replace(/[\\"]/g, (c) => `\\${c}`))}"`;

/** The last guard of every printer of errors: one line, whatever the message holds. */
export const oneLine = (s: string): string => printable(s);

/** How many distinct problems one file (a list, a folder of files) reports before the rest are counted. */
export const MAX_PROBLEMS_PER_FILE = 5;

/**
 * `problems` without repeats, at most `max` of them, then one line
 * `SUBJECT: ... and N more`: a file with a million bad lines costs a few
 * lines of output, not a million.
 */
export const capProblems = (subject: string, problems: readonly string[], max = MAX_PROBLEMS_PER_FILE): string[] => {
  const distinct = [...new Set(problems)];
  if (distinct.length <= max) return distinct;
  return [...distinct.slice(0, max), `${subject}: ... and ${distinct.length - max} more`];
};
