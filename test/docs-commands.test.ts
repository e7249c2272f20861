// Every `svctl` command and option the docs and examples/ tell users to type
// exists: each invocation in their code is checked against svctl's own help
// pages (the built dist/cmd/svctl.js, as users run it).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandAndOptions, helpListing, markdownCode, svctlInvocations } from './docs-commands.js';
import { ROOT, SVCTL } from './helpers.js';

const help = (args: string[]): string => {
  const r = spawnSync(process.execPath, [SVCTL, ...args, '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return r.stdout;
};

/** Every file below `dir`. */
const filesBelow = (dir: string): string[] =>
  readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? filesBelow(p) : [p];
  });

/** The docs users follow, and the example files they copy. */
const sources = (): { file: string; code: string[] }[] => [
  ...[join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f))].map((file) => ({
    file,
    code: markdownCode(readFileSync(file, 'utf8')),
  })),
  ...filesBelow(join(ROOT, 'examples')).map((file) => ({ file, code: [readFileSync(file, 'utf8')] })),
];

describe('svctl as the docs and examples/ use it', () => {
  it('names only commands and options that svctl has', () => {
    const top = helpListing(help([]));
    expect(top.commands.has('boot')).toBe(true); // the help page was read
    const perCommand = new Map<string, Set<string>>();
    const wrong: string[] = [];
    let seen = 0;
    for (const { file, code } of sources()) {
      for (const snippet of code) {
        for (const args of svctlInvocations(snippet)) {
          const used = commandAndOptions(args);
          if (!used) continue;
          seen += 1;
          const where = `${relative(ROOT, file)}: svctl ${args.join(' ')}`;
          if (!top.commands.has(used.command)) {
            wrong.push(`${where}: no command "${used.command}"`);
            continue;
          }
          if (!perCommand.has(used.command)) perCommand.set(used.command, helpListing(help([used.command])).options);
          const known = perCommand.get(used.command)!;
          for (const o of used.options) if (!known.has(o) && !top.options.has(o)) wrong.push(`${where}: no option "${o}"`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(seen).toBeGreaterThan(20);
  });

  it('reads invocations out of shell lines, JSON arrays and YAML the way a shell or Docker would', () => {
    expect(svctlInvocations('ENTRYPOINT ["svctl", "boot", "--shutdown-timeout", "8000", "--"]')).toEqual([['boot', '--shutdown-timeout', '8000']]);
    expect(svctlInvocations('    npx svctl -d services.example status web   # comment')).toEqual([['-d', 'services.example', 'status', 'web']]);
    expect(svctlInvocations('svctl status && svctl check | cat')).toEqual([['status'], ['check']]);
    expect(commandAndOptions(['-d', 'x', 'metrics', '--listen=1:2', 'web'])).toEqual({ command: 'metrics', options: ['-d', '--listen'] });
    expect(commandAndOptions(['-d'])).toBeNull();
    expect(commandAndOptions(['COMMAND', '--x'])).toBeNull();
    expect(svctlInvocations('RUN x  # svctl and svrun on the PATH')).toEqual([]);
    expect(markdownCode('text `svctl up` and ``a `b` c``\n\n    svctl down\n')).toEqual(['svctl up', 'a `b` c', '    svctl down']);
  });
});
