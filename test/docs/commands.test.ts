// Every `svctl` command and option the docs and examples/ tell users to type
// exists: each invocation in their code is checked against svctl's own help
// pages (the built dist/cmd/svctl.js, as users run it).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { commandAndOptions, helpListing, markdownCode, svctlInvocations } from './commands.js';
import { ROOT, SVCTL } from '../helpers.js';

/** svctl's help page (`svctl --help`, `svctl CMD --help`). */
const help = async (args: string[]): Promise<string> =>
  (await promisify(execFile)(process.execPath, [SVCTL, ...args, '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }))
    .stdout;

/** Every file below `dir`. */
const filesBelow = (dir: string): string[] =>
  readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? filesBelow(p) : [p];
  });

/** The docs users follow, and the example files they copy. */
const sources = (): { file: string; code: string[] }[] => [
  ...[
    join(ROOT, 'README.md'),
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(ROOT, 'docs', f)),
  ].map((file) => ({
    file,
    code: markdownCode(readFileSync(file, 'utf8')),
  })),
  ...filesBelow(join(ROOT, 'examples')).map((file) => ({ file, code: [readFileSync(file, 'utf8')] })),
];

/** Mistyped commands docs/svctl.md shows on purpose, with what svctl answers them. */
const MISTYPED = new Set(['stauts', 'bogus']);

describe('svctl as the docs and examples/ use it', () => {
  it('names only commands and options that svctl has', async () => {
    const uses = sources().flatMap(({ file, code }) =>
      code.flatMap((snippet) =>
        svctlInvocations(snippet).flatMap((args) => {
          const used = commandAndOptions(args);
          return used ? [{ ...used, where: `${relative(ROOT, file)}: svctl ${args.join(' ')}` }] : [];
        }),
      ),
    );
    expect(uses.length).toBeGreaterThan(20);
    // the help pages, read side by side (each is a node start)
    const top = helpListing(await help([]));
    expect(top.commands.has('boot')).toBe(true); // the help page was read
    const named = [...new Set(uses.map((u) => u.command))].filter((c) => top.commands.has(c));
    const perCommand = new Map(await Promise.all(named.map(async (c) => [c, helpListing(await help([c])).options] as const)));
    const wrong: string[] = [];
    for (const { command, options, where } of uses) {
      const known = perCommand.get(command);
      if (MISTYPED.has(command)) continue;
      if (!known) wrong.push(`${where}: no command "${command}"`);
      else for (const o of options) if (!known.has(o) && !top.options.has(o)) wrong.push(`${where}: no option "${o}"`);
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it('reads invocations out of shell lines, JSON arrays and YAML the way a shell or Docker would', () => {
    expect(svctlInvocations('ENTRYPOINT ["svctl", "boot", "--shutdown-timeout", "8000", "--"]')).toEqual([
      ['boot', '--shutdown-timeout', '8000'],
    ]);
    expect(svctlInvocations('    npx svctl -d services.example status web   # comment')).toEqual([
      ['-d', 'services.example', 'status', 'web'],
    ]);
    expect(svctlInvocations('svctl status && svctl check | cat')).toEqual([['status'], ['check']]);
    expect(commandAndOptions(['-d', 'x', 'metrics', '--listen=1:2', 'web'])).toEqual({ command: 'metrics', options: ['-d', '--listen'] });
    expect(commandAndOptions(['-d'])).toBeNull();
    expect(commandAndOptions(['COMMAND', '--x'])).toBeNull();
    expect(svctlInvocations('RUN x  # svctl and svrun on the PATH')).toEqual([]);
    expect(markdownCode('text `svctl up` and ``a `b` c``\n\n    svctl down\n')).toEqual(['svctl up', 'a `b` c', '    svctl down']);
  });
});
