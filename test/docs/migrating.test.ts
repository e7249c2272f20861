// docs/migrating.md says only what svkit has: every converted example is a
// valid service folder (written out and read by svctl, as `svctl up` would
// check it), and every svkit name in the concepts table is one the
// reference docs define. (Its svctl commands: commands.test.ts.)
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markdownCode } from './commands.js';
import { ROOT, type Sandbox, SVCTL, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const doc = readFileSync(join(ROOT, 'docs/migrating.md'), 'utf8');

/** The doc's converted folders: `    services/NAME/FILE` lines, each followed by its content indented by two more. */
const convertedFiles = (md: string): Map<string, string> => {
  const files = new Map<string, string>();
  let current: string | null = null;
  for (const line of md.split('\n')) {
    const head = /^ {4}(services\/\S+)$/.exec(line);
    if (head) files.set((current = head[1]!), '');
    else if (current && line.startsWith('      ')) files.set(current, `${files.get(current)}${line.slice(6)}\n`);
    else current = null;
  }
  return files;
};

/** The cells of a Markdown table's column `col` (0-based), `\|` kept inside a cell. */
const tableColumn = (md: string, col: number): string[] =>
  md
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('|---'))
    .slice(1) // the header
    .map((l) => l.replace(/\\\|/g, '\0').split('|')[col + 1]!.replace(/\0/g, '|').trim());

describe('docs/migrating.md', () => {
  it('every converted example is a valid service folder', () => {
    const files = convertedFiles(doc);
    const services = new Set([...files.keys()].map((p) => p.split('/')[1]!));
    expect([...services].sort()).toEqual(['api', 'api@', 'app', 'celery', 'migrate', 'nginx', 'web']);
    for (const [path, body] of files) {
      const file = join(sb.dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
      if (body.startsWith('#!')) chmodSync(file, 0o755);
    }
    // what they require beyond the doc's own examples (php-fpm, redis) is another folder of the same kind
    for (const name of services) {
      const requires = join(sb.dir, 'services', name, 'requires');
      for (const dep of existsSync(requires) ? readFileSync(requires, 'utf8').split('\n').filter(Boolean) : []) {
        if (services.has(dep)) continue;
        mkdirSync(join(sb.dir, 'services', dep), { recursive: true });
        writeFileSync(join(sb.dir, 'services', dep, 'run'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
      }
    }
    const r = spawnSync(process.execPath, [SVCTL, '-d', join(sb.dir, 'services'), 'graph'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('api migrate php-fpm redis web\napp celery nginx\n'); // app after migrate, nginx after php-fpm, celery after redis
  });

  it('every svkit file, value and function in the concepts table is one the reference docs name', () => {
    const reference = new Set(
      readdirSync(join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md') && f !== 'migrating.md')
        .flatMap((f) => markdownCode(readFileSync(join(ROOT, 'docs', f), 'utf8')))
        .map((c) => c.trim()),
    );
    const cells = tableColumn(doc, 5);
    expect(cells.length).toBeGreaterThan(15);
    const named = cells.flatMap((c) => [...c.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)).filter((c) => !c.startsWith('svctl '));
    expect(named.length).toBeGreaterThan(30);
    expect(named.filter((n) => !reference.has(n))).toEqual([]);
  });
});
