// svctl's command line in this process (src/svctl/cli.ts through a captured
// sink, test/svctl/inprocess.ts): graph, global options before or after the
// command, usage errors (exit 2, one line, nothing changed) and help. The
// binary itself (exit codes reaching the shell) is checked end-to-end in
// query.proc.test.ts.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE } from '../../src/defaults.js';
import { runCommand } from '../../src/svctl/cli.js';
import { cmdGraph } from '../../src/svctl/commands/graph.js';
import { type Sandbox, withSandbox } from '../helpers.js';
import { captureCtx, svctlInProcess } from './inprocess.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** What the scan directory holds, recursively: a usage error changes none of it. */
const tree = (): string[] => (readdirSync(sb.scan, { recursive: true }) as string[]).sort();

/** a; b and c require a; d requires b and c; e alone. */
const diamond = () => {
  for (const s of ['a', 'b', 'c', 'd', 'e']) sb.service(s, 'exec sleep 1000');
  sb.write(join(sb.scan, 'b'), 'requires', 'a');
  sb.write(join(sb.scan, 'c'), 'requires', 'a');
  sb.write(join(sb.scan, 'd'), 'requires', 'c\nb');
};

describe('graph (in process)', () => {
  it.each<[string, string[], { json?: boolean }, boolean, string]>([
    ['levels', [], {}, false, 'a e\nb c\nd\n'],
    ['NAME: it and what it requires', ['d'], {}, false, 'a\nb c\nd\n'],
    ['--json', ['c'], { json: true }, false, '[["a"],["c"]]\n'],
    [
      '--dot',
      ['d'],
      {},
      true,
      'digraph svkit {\n  "a";\n  "b";\n  "c";\n  "d";\n  "b" -> "a";\n  "c" -> "a";\n  "d" -> "b";\n  "d" -> "c";\n}\n',
    ],
  ])('%s', async (_d, names, opts, dot, expected) => {
    diamond();
    const before = tree();
    const { ctx, out, err } = captureCtx(sb.scan, opts);
    expect(await runCommand(ctx, (c) => cmdGraph(c, names, dot))).toBe(EXIT_OK);
    expect(out()).toBe(expected);
    expect(err()).toBe('');
    expect(tree()).toEqual(before); // read-only: no supervise/, no lock
  });

  it.each<[string, () => void, string[], (scan: string) => string]>([
    ['an unknown service', diamond, ['d', 'nope'], (scan) => `svctl: nope: no such service in ${scan}\n`],
    [
      'a cycle, printed as the cycle',
      () => {
        sb.service('a', 'true', { requires: 'b' });
        sb.service('b', 'true', { requires: 'c' });
        sb.service('c', 'true', { requires: 'a' });
      },
      [],
      () => 'svctl: dependency cycle: a -> b -> c -> a\n',
    ],
    [
      'an invalid setting, naming the file',
      () => sb.service('web', 'true', { 'timeout-kill': 'abc' }),
      [],
      () => 'svctl: web/timeout-kill: expected milliseconds, got "abc"\n',
    ],
    [
      'requires naming nothing',
      () => sb.service('web', 'true', { requires: 'nope' }),
      [],
      () => 'svctl: web/requires: unknown service "nope"\n',
    ],
  ])('%s: exit 2, the one line, nothing printed on stdout', async (_d, make, names, message) => {
    make();
    const { ctx, out, err } = captureCtx(sb.scan);
    expect(await runCommand(ctx, (c) => cmdGraph(c, names, false))).toBe(EXIT_USAGE);
    expect(err()).toBe(message(sb.scan));
    expect(out()).toBe('');
  });
});

describe('the command line (in process)', () => {
  it('global options before or after the command', async () => {
    sb.service('a', 'exec sleep 1000');
    for (const args of [
      ['-d', sb.scan, 'status', '--json'],
      ['status', '--json', '--dir', sb.scan],
      ['--json', 'status', '-d', sb.scan],
    ]) {
      const r = await svctlInProcess(args);
      expect(r.code, args.join(' ')).toBe(EXIT_OK);
      expect(JSON.parse(r.stdout)[0].name, args.join(' ')).toBe('a');
      expect(r.stderr).toBe('');
    }
  });

  // commander's own errors and the commands' checks of their arguments, each one line
  it.each<[string[], RegExp]>([
    // no guess for an unrelated word (commander's own rule offered "logs"), one for a typo
    [['bogus'], /^svctl: unknown command 'bogus'\n$/],
    [['stauts'], /^svctl: unknown command 'stauts' \(did you mean status\?\)\n$/],
    [['status', '--bogus'], /^svctl: unknown option '--bogus'/],
    // one wording for a guess, commander's for options included
    [['up', '--tiemout', '5'], /^svctl: unknown option '--tiemout' \(did you mean --timeout\?\)\n$/],
    [['-t', 'soon', 'status'], /^svctl: .*expected milliseconds, got "soon"/],
    [['wait', 'up'], /^svctl: missing required argument 'NAME'/],
    [['wait', 'sideways', 'web'], /^svctl: wait: expected up, down or failed, got "sideways"\n/],
    [['signal', 'BOGUS', 'web'], /^svctl: signal: cannot send "BOGUS" /],
    [['logs', 'web', '-n', 'many'], /^svctl: .*expected a number of lines, got "many"/],
    [['status', 'nope'], /^svctl: nope: no such service in /],
    [['check', 'nope'], /^svctl: nope: no such service in /],
    [['signal', 'HUP', 'nope'], /^svctl: nope: no such service in /],
    [['wait', 'up', 'nope'], /^svctl: nope: no such service in /],
    [['logs', 'nope'], /^svctl: nope: no such service in /],
    [['graph', 'nope'], /^svctl: nope: no such service in /],
  ])('%j: exit 2, one line on stderr, nothing on stdout, nothing changed', async (args, message) => {
    sb.service('web', 'exec sleep 1000');
    const before = tree();
    const r = await svctlInProcess([...args, '-d', sb.scan]);
    expect(r.code, args.join(' ')).toBe(EXIT_USAGE);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^[^\n]+\n$/);
    expect(r.stdout).toBe('');
    expect(tree()).toEqual(before);
  });

  it('--help and CMD --help exit 0, each command with an example', async () => {
    const top = await svctlInProcess(['--help']);
    expect(top.code).toBe(EXIT_OK);
    for (const cmd of [
      'up',
      'down',
      'restart',
      'once',
      'remove',
      'status',
      'check',
      'metrics',
      'signal',
      'wait',
      'logs',
      'graph',
      'boot',
      'completion',
    ]) {
      expect(top.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
      const r = await svctlInProcess([cmd, '--help']);
      expect(r.code, cmd).toBe(EXIT_OK);
      expect(r.stdout, cmd).toMatch(/\nExample:\n {2}\S/);
    }
  });
});
