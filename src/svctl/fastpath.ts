// svctl's global options and its reading commands (status, check), without
// commander. Those two run most often (scripts, health checks), and loading
// commander and building the whole command tree costs about as much as
// Node's own start-up (docs/performance.md). So the entry point hands a
// command line to `quickCommand` first; it takes only what commander would
// read the same way (the global options below in their plain forms, then
// names) and leaves everything else to commander (cli.ts): help, `--`, an
// unknown or invalid option, every usage error. cli.ts declares the global
// options from the same table and runs the same functions, so there is one
// definition of each.
import { SvError } from '../errors.js';
import { type Ctx, type GlobalOptions, makeCtx, processStreams, type Streams } from './context.js';

/** A whole number of `what` (`-t 5000`), or null: commander's parser throws the usage error (cli.ts). */
export const wholeNumberOf = (value: string): number | null =>
  /^\d+$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : null;

export interface GlobalOption {
  key: keyof GlobalOptions;
  short?: string;
  long: string;
  /** The value's name in the help (`-d, --dir <DIR>`); none for a flag. */
  value?: string;
  /** A value that must be a whole number: what it counts (commander's error says `expected milliseconds`). */
  wholeNumberOf?: string;
  description: string;
}

/**
 * Options of svctl itself, before or after the command (commander reads them
 * anywhere by default). Declare a new one here, not on commander's program
 * alone: a command line with an option this table lacks goes to commander
 * (right, only slower), and a default must live in makeCtx, which both paths use.
 */
export const GLOBAL_OPTIONS: readonly GlobalOption[] = [
  { key: 'dir', short: '-d', long: '--dir', value: 'DIR', description: 'scan directory (default: $SVDIR, else ./services)' },
  { key: 'json', long: '--json', description: 'machine-readable output' },
  {
    key: 'timeout',
    short: '-t',
    long: '--timeout',
    value: 'MS',
    wholeNumberOf: 'milliseconds',
    description: "how long to wait, the scan lock included (default: each service's timeouts)",
  },
  { key: 'quiet', short: '-q', long: '--quiet', description: 'print errors only (no progress lines)' },
];

/** `-d, --dir <DIR>`: the option as commander declares it. */
export const flagsOf = (o: GlobalOption): string => `${o.short ? `${o.short}, ` : ''}${o.long}${o.value ? ` <${o.value}>` : ''}`;

/**
 * The action wrapper, one of svctl's two places that turn errors into exit
 * codes (with cmd/svctl.ts): runs `command` with its context; an SvError it
 * throws is printed through the context, one line per problem, and its exit
 * code returned. Anything else is a bug, left to the entry point.
 */
export const runCommand = async (ctx: Ctx, command: (ctx: Ctx) => number | Promise<number>): Promise<number> => {
  try {
    return await command(ctx);
  } catch (err) {
    if (!(err instanceof SvError)) throw err;
    for (const line of err.lines) ctx.err(line);
    return err.exitCode;
  }
};

/** The commands taken here, `[NAME...]` each; cli.ts's actions for them run these too. Loaded when run. */
export const READING_COMMANDS = {
  status: async (ctx: Ctx, names: readonly string[]) => (await import('./commands/status.js')).cmdStatus(ctx, names),
  check: async (ctx: Ctx, names: readonly string[]) => (await import('./commands/check.js')).cmdCheck(ctx, names),
} as const;

type ReadingCommand = keyof typeof READING_COMMANDS;
const isReadingCommand = (word: string): word is ReadingCommand => Object.hasOwn(READING_COMMANDS, word);

/**
 * The command line parsed as commander would, when it is a reading command
 * with global options in their plain forms (`-d DIR`, `--dir DIR`,
 * `--dir=DIR`, `--json`, `-t MS`...) and names; null for anything else
 * (commander's to read, to run or to refuse). A value that begins with `-`,
 * a bundled `-dDIR`, `--` or any other option is left to commander.
 */
export const parseQuick = (argv: readonly string[]): { command: ReadingCommand; opts: GlobalOptions; names: string[] } | null => {
  const opts: GlobalOptions = {};
  const names: string[] = [];
  let command: ReadingCommand | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      if (command !== null) names.push(arg);
      else if (isReadingCommand(arg)) command = arg;
      else return null;
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const option = GLOBAL_OPTIONS.find((o) => o.short === flag || o.long === flag);
    if (!option) return null;
    if (!option.value) {
      if (eq !== -1) return null;
      (opts as Record<string, unknown>)[option.key] = true;
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq === -1 && value.startsWith('-'))) return null;
    if (option.wholeNumberOf) {
      const n = wholeNumberOf(value);
      if (n === null) return null;
      (opts as Record<string, unknown>)[option.key] = n;
    } else (opts as Record<string, unknown>)[option.key] = value;
  }
  return command === null ? null : { command, opts, names };
};

/** The reading command of `argv`, ready to run (resolves with the exit code); null when commander is to read it. */
export const quickCommand = (argv: readonly string[], streams: Streams = processStreams): (() => Promise<number>) | null => {
  const parsed = parseQuick(argv);
  if (parsed === null) return null;
  return () => runCommand(makeCtx(parsed.opts, streams), (ctx) => READING_COMMANDS[parsed.command](ctx, parsed.names));
};
