// svctl's command line (commander): global options before or after the
// command, one example per command in its --help, errors as one line
// prefixed `svctl:`, and commander's own usage errors mapped to exit 2.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, EXIT_OK, EXIT_USAGE } from '../defaults.js';
import { PACKAGE_JSON } from '../programs.js';
import { cmdDown } from './commands/down.js';
import { cmdGraph } from './commands/graph.js';
import { cmdRemove } from './commands/remove.js';
import { cmdReload } from './commands/reload.js';
import { cmdRestart } from './commands/restart.js';
import { cmdScale } from './commands/scale.js';
import { cmdUp } from './commands/up.js';
import { type Ctx, type GlobalOptions, makeCtx, processStreams, type Streams } from './context.js';
import { cmdLogs } from './commands/logs.js';
import { cmdSignal } from './commands/signal.js';
import { flagsOf, GLOBAL_OPTIONS, READING_COMMANDS, runCommand, wholeNumberOf } from './fastpath.js';
import { unknownCommandText } from './suggest.js';
import { cmdWait } from './commands/wait.js';
import { hostFromEnv } from './engine/host.js';

const wholeNumber =
  (what: string) =>
  (value: string): number => {
    const n = wholeNumberOf(value);
    if (n === null) throw new InvalidArgumentError(`expected ${what}, got "${value}"`);
    return n;
  };

export { runCommand };

/** package.json's version. */
const version = (): string => {
  try {
    const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
};

/** --host, or SVKIT_HOST=1 in the environment (src/svctl/engine/host.ts). */
const hosting = (o: { host?: boolean }): boolean => o.host === true || hostFromEnv();
const HOST_HELP = 'one svrun process supervises the services this call starts (also SVKIT_HOST=1)';

const example = (...lines: string[]) => `\nExample:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;

/** Builds the program; each action stores its exit code through `done`, and prints to `streams`. */
export const buildProgram = (done: (code: number) => void, streams: Streams = processStreams): Command => {
  const program = new Command('svctl');
  program
    .description('Bring services of a scan directory up and down in dependency order, through their svrun supervisors.')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (str) => streams.stdout(str),
      writeErr: (str) => streams.stderr(str),
      // one line, and one wording for a guess (commander says `(Did you mean --timeout?)`, svkit `(did you mean ...?)`)
      outputError: (str, write) =>
        write(
          `svctl: ${str
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')
            .replace(/\(Did you mean /g, '(did you mean ')}\n`,
        ),
    })
    // for options only: an unknown command gets svctl's stricter guess (the 'command:*' listener below)
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 a service failed or a wait timed out, 2 usage or invalid service definitions.\nSee docs/svctl.md.\n',
    );

  // the global options, from the table the quick path reads too (quick.ts)
  for (const o of GLOBAL_OPTIONS) {
    if (o.wholeNumberOf) program.option(flagsOf(o), o.description, wholeNumber(o.wholeNumberOf));
    else program.option(flagsOf(o), o.description);
  }

  /** Runs `command` through runCommand with the context of commander's `cmd` (printing to `to`), and stores the exit code. */
  const run = async (cmd: Command, command: (ctx: Ctx) => number | Promise<number>, to: Streams = streams): Promise<void> =>
    done(await runCommand(makeCtx(cmd.optsWithGlobals<GlobalOptions>(), to), command));

  program
    .command('up')
    .description('start services and everything they require, in dependency order (default: all without a down file)')
    .argument('[NAME...]')
    .option('--host', HOST_HELP)
    .addHelpText(
      'after',
      example(
        '$ svctl up            # every service without a down file',
        '$ svctl -d /etc/sv up web',
        '$ svctl up --host     # one svrun process supervises them all',
      ),
    )
    .action((names: string[], o: { host?: boolean }, cmd: Command) => run(cmd, (ctx) => cmdUp(ctx, names, 'up', hosting(o))));

  program
    .command('down')
    .description('stop services, after every running service that requires them (default: all); their supervisors exit')
    .argument('[NAME...]', 'services; TEMPLATE@* for every instance of TEMPLATE@')
    .addHelpText('after', example('$ svctl down db       # stops what requires db first, then db'))
    .action((names: string[], _o, cmd: Command) => run(cmd, (ctx) => cmdDown(ctx, names)));

  program
    .command('restart')
    .description(
      'down then up of the named services and of the running services that require them (--no-deps: the named ones only; --rolling: one at a time)',
    )
    .argument('<NAME...>', 'services; TEMPLATE@* for every instance of TEMPLATE@')
    .option('--no-deps', 'restart only the named services; what requires them keeps running')
    .option(
      '--rolling',
      'restart the named services one at a time, each once the previous one is ready again; what requires them keeps running',
    )
    .option('--host', HOST_HELP)
    .addHelpText(
      'after',
      example(
        '$ svctl restart db            # web, which requires db, goes down and up with it',
        '$ svctl restart --no-deps db  # web keeps running',
        "$ svctl restart --rolling 'web@*'",
      ),
    )
    .action((names: string[], o: { deps: boolean; rolling?: boolean; host?: boolean }, cmd: Command) =>
      run(cmd, (ctx) => cmdRestart(ctx, names, { deps: o.deps, rolling: o.rolling ?? false, host: hosting(o) })),
    );

  program
    .command('reload')
    .description(
      'the running supervisors read their folders again: what can change live is applied, a changed run (env/, user...) restarts the service under its supervisor',
    )
    .argument('<NAME...>', 'services; TEMPLATE@* for every instance of TEMPLATE@')
    .addHelpText('after', example('$ echo 3000 > services/db/timeout-kill && svctl reload db', "$ svctl reload 'web@*' --json"))
    .action((names: string[], _o, cmd: Command) => run(cmd, (ctx) => cmdReload(ctx, names)));

  program
    .command('scale')
    .description('N instances of the template up (1 to N, created where missing); the others stopped and removed, highest numbers first')
    .argument('<TEMPLATE@>', 'a template folder (its name ends with @)')
    .argument('<N>', 'how many instances')
    .addHelpText(
      'after',
      example('$ svctl scale web@ 4     # web@1 .. web@4 up', '$ svctl scale web@ 2     # web@4, then web@3, stopped and removed'),
    )
    .action((template: string, count: string, _o, cmd: Command) => run(cmd, (ctx) => cmdScale(ctx, template, count)));

  program
    .command('once')
    .description('like up, but the named services are not restarted when they exit')
    .argument('<NAME...>')
    .option('--host', HOST_HELP)
    .addHelpText('after', example('$ svctl once migrate'))
    .action((names: string[], o: { host?: boolean }, cmd: Command) => run(cmd, (ctx) => cmdUp(ctx, names, 'once', hosting(o))));

  program
    .command('remove')
    .description('stop instances of templates (after what names them explicitly; not what requires worker@*) and delete their folders')
    .argument('<NAME@INST...>')
    .addHelpText('after', example('$ svctl up worker@1 worker@2 worker@3   # created from worker@/', '$ svctl remove worker@3'))
    .action((names: string[], _o, cmd: Command) => run(cmd, (ctx) => cmdRemove(ctx, names)));

  program
    .command('status')
    .description('one line per service: state, pid, uptime, restarts, last exit, readiness (--json: status objects)')
    .argument('[NAME...]')
    .addHelpText('after', example('$ svctl status', '$ svctl status --json web'))
    .action((names: string[], _o, cmd: Command) => run(cmd, (ctx) => READING_COMMANDS.status(ctx, names)));

  program
    .command('check')
    .description('exit 0 when every service (default: all without a down file) is up and ready, else 1 naming the others')
    .argument('[NAME...]')
    .addHelpText('after', example('HEALTHCHECK CMD svctl check'))
    .action((names: string[], _o, cmd: Command) => run(cmd, (ctx) => READING_COMMANDS.check(ctx, names)));

  program
    .command('metrics')
    .description("print every service's state and usage in the Prometheus text format (--listen: serve it at /metrics)")
    .argument('[NAME...]')
    .option('--listen <HOST:PORT>', 'serve GET /metrics over HTTP instead, until SIGTERM or SIGINT')
    .addHelpText('after', example('$ svctl metrics web', '$ svctl metrics --listen 127.0.0.1:9464'))
    .action(async (names: string[], o: { listen?: string }, cmd: Command) => {
      // loaded only here: node:http and the rest are for this command alone
      if (o.listen === undefined) {
        const { cmdMetrics } = await import('./commands/metrics.js');
        await run(cmd, (ctx) => cmdMetrics(ctx, names));
      } else {
        const { serveMetrics } = await import('./metrics/server.js');
        await run(cmd, (ctx) => serveMetrics(ctx, names, o.listen!));
      }
    });

  program
    .command('signal')
    .description("send SIG to each service's process group through its supervisor")
    .argument('<SIG>', 'TERM HUP INT QUIT USR1 USR2 ALRM WINCH STOP CONT KILL (with or without SIG)')
    .argument('<NAME...>')
    .addHelpText('after', example('$ svctl signal HUP nginx'))
    .action((sig: string, names: string[], _o, cmd: Command) => run(cmd, (ctx) => cmdSignal(ctx, sig, names)));

  program
    .command('wait')
    .description('wait until each service is in STATE (up, down or failed); exit 1 on timeout')
    .argument('<STATE>', 'up, down or failed')
    .argument('<NAME...>')
    .addHelpText('after', example('$ svctl wait up db -t 30000'))
    .action((state: string, names: string[], _o, cmd: Command) => run(cmd, (ctx) => cmdWait(ctx, state, names)));

  program
    .command('logs')
    .description(
      'print the last lines of services\' built-in logs (rotated files included; default: every service); several: merged by time, prefixed "NAME | "; -f follows them',
    )
    .argument('[NAME...]')
    .option('-n, --lines <N>', 'how many lines of each service', wholeNumber('a number of lines'), 50)
    .option('-f, --follow', 'then print what is appended, across rotations, until interrupted')
    .addHelpText(
      'after',
      example(
        '$ svctl logs web -n 20 -f',
        '$ svctl logs web db -f    # interleaved by time: "web | 2026-...Z out hello"',
        '$ svctl logs -n 5         # every service',
      ),
    )
    .action((names: string[], o: { lines: number; follow?: boolean }, cmd: Command) =>
      run(cmd, (ctx) => cmdLogs(ctx, names, { lines: o.lines, follow: o.follow ?? false })),
    );

  program
    .command('graph')
    .description('print the start order, one level per line (services on a line can start together)')
    .argument('[NAME...]')
    .option('--dot', 'print a Graphviz digraph instead ("a" -> "b": a requires b)')
    .addHelpText('after', example('$ svctl graph', '$ svctl graph --dot | dot -Tsvg > services.svg'))
    .action((names: string[], o: { dot?: boolean }, cmd: Command) => run(cmd, (ctx) => cmdGraph(ctx, names, o.dot ?? false)));

  program
    .command('boot')
    .description(
      'container init: bring every service up with its output on stdout, run CMD, reap orphans, shut down in reverse order on SIGTERM',
    )
    .argument('[CMD...]', 'the main command (after --); boot exits with its exit code')
    .option(
      '--shutdown-timeout <MS>',
      'bound on the whole shutdown, then SIGKILL',
      wholeNumber('milliseconds'),
      DEFAULT_SHUTDOWN_TIMEOUT_MS,
    )
    .option('--host', HOST_HELP)
    .addHelpText(
      'after',
      example('ENTRYPOINT ["svctl", "boot", "-d", "/etc/services", "--"]', 'CMD ["node", "server.js"]', '$ svctl boot -d services.example'),
    )
    .action(async (cmdArgs: string[], o: { shutdownTimeout: number; host?: boolean }, cmd: Command) => {
      const { boot, fd2Streams } = await import('./boot/init.js');
      await run(cmd, (ctx) => boot(ctx, { shutdownTimeoutMs: o.shutdownTimeout, cmd: cmdArgs, host: hosting(o) }), fd2Streams);
    });

  program
    .command('completion')
    .description("print a completion script for bash or zsh (commands, options, the scan directory's service names)")
    .argument('<SHELL>', 'bash or zsh')
    .addHelpText(
      'after',
      example('$ source <(svctl completion bash)    # in ~/.bashrc', '$ source <(svctl completion zsh)     # in ~/.zshrc, after compinit'),
    )
    .action(async (shell: string, _o, cmd: Command) => {
      const { cmdCompletion } = await import('./commands/completion.js');
      await run(cmd, (ctx) => cmdCompletion(ctx, shell, program));
    });

  // an unknown command: commander would guess loosely (`bogus`: "did you mean logs?"); see suggest.ts
  program.on('command:*', (operands: string[]) => {
    const names = program.commands.map((c) => c.name());
    program.error(`error: ${unknownCommandText(operands[0] ?? '', names)}`, { exitCode: EXIT_USAGE, code: 'commander.unknownCommand' });
  });

  return program;
};

/** Runs svctl with `argv` (without node and the script); resolves with the exit code. */
export const svctl = async (argv: string[], streams: Streams = processStreams): Promise<number> => {
  let code = EXIT_OK;
  const program = buildProgram((c) => (code = c), streams);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    throw err;
  }
  return code;
};
