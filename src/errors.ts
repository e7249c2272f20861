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
