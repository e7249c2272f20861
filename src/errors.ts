// Errors are values with a stable code and an exit code (commander's shape);
// the message is one line, subject first, without the program prefix, which
// the entry point adds.

export type SvErrorCode =
  | 'svkit.usage'
  | 'svkit.invalid'
  | 'svkit.locked'
  | 'svkit.cycle'
  | 'svkit.missing-service'
  | 'svkit.failed'
  | 'svkit.timeout';

export class SvError extends Error {
  constructor(
    readonly code: SvErrorCode,
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'SvError';
  }
}

/** Anything thrown, as a one-line message. */
export const errorText = (err: unknown): string => {
  const text = err instanceof Error ? err.message : String(err);
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
