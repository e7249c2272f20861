// svctl logs through the real svctl and svrun: the last N lines across
// rotated files, following across rotations (no line lost or repeated, even
// several rotations between two reads), several services merged by time and
// prefixed, and services with a log/ logger reported. The merge and prefixes
// on their own: logs.test.ts; the file-following: test/log/tail.test.ts.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lineTime } from '../../../src/log/format.js';
import { Sandbox, startSvctl, SVCTL_MODES, waitFor } from '../../helpers.js';

/** Deadline for events that involve starting node processes on a busy machine. */
const SLOW = 10_000;

const outLines = (text: string) => text.split('\n').filter(Boolean);

describe.each(SVCTL_MODES)('svctl logs ($mode)', ({ hosted }) => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = new Sandbox();
    sb.hosted = hosted;
  });
  afterEach(async () => {
    await sb.cleanup();
  });

  const forever = (name: string) => `exec ${sb.marker(name)} 1000`;
  const logDir = (name: string) => join(sb.scan, name, 'log');
  const rotated = (name: string) =>
    readdirSync(logDir(name))
      .filter((f) => f.startsWith('@'))
      .sort();
  /** Every line the log still holds, oldest first. */
  const wholeLog = (name: string) => [...rotated(name), 'current'].flatMap((f) => outLines(readFileSync(join(logDir(name), f), 'utf8')));
  const numbers = (text: string) => [...text.matchAll(/ out c (\d+)$/gm)].map((m) => Number(m[1]));

  it('-n N: exactly the last N lines, reading back into the rotated files', async () => {
    sb.service('num', `for i in $(seq 1 1000); do echo "line $i"; done\n${forever('num')}`, { 'log/config': 'size 4096\nkeep 5\n' });
    expect((await sb.svctl(['up', 'num'])).code).toBe(0);
    await waitFor(() => sb.log('num').includes('out line 1000'), 'the 1000 lines logged', SLOW);
    const all = wholeLog('num');
    expect(rotated('num')).toHaveLength(5); // 1000 lines of ~37 bytes: more rotations than kept
    expect(outLines(sb.log('num')).length).toBeLessThan(150);

    for (const n of [1, 150, 400]) {
      const r = await sb.svctl(['logs', 'num', '-n', String(n)]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(outLines(r.stdout)).toEqual(all.slice(-n));
    }
    const everything = await sb.svctl(['logs', 'num', '-n', '100000']);
    expect(outLines(everything.stdout)).toEqual(all);
  });

  it('-f: lines appended later and across several rotations, none lost or repeated, even while it sleeps; SIGINT ends it with 0', async () => {
    const go = join(sb.dir, 'go');
    const N = 1500;
    sb.service(
      'count',
      `echo waiting\nwhile [ ! -e ${go} ]; do sleep 0.02; done\nfor ((i = 1; i <= ${N}; i++)); do echo "c $i"; if ((i % 10 == 0)); then sleep 0.01; fi; done\necho done-counting\n${forever('count')}`,
      { 'log/config': 'size 4096\nkeep 40\n' },
    );
    expect((await sb.svctl(['up', 'count'])).code).toBe(0);
    await waitFor(() => sb.log('count').includes('out waiting'), 'the service waiting', SLOW);
    const follow = startSvctl(sb, ['logs', 'count', '-f', '-n', '3']);
    await waitFor(
      () => follow.stdout().includes('out waiting'),
      () => `logs -f to print the last lines: ${follow.stdout()}`,
      SLOW,
    );
    writeFileSync(go, '');

    // stop the follower while the log rotates at least twice, so one wake-up finds several rotations
    await waitFor(
      () => numbers(follow.stdout()).length >= 200,
      () => `the first numbers followed: ${follow.stdout().slice(-300)}`,
      SLOW,
    );
    follow.child.kill('SIGSTOP');
    const before = rotated('count');
    try {
      await waitFor(() => rotated('count').filter((f) => !before.includes(f)).length >= 2, 'two rotations while the follower sleeps', SLOW);
    } finally {
      follow.child.kill('SIGCONT');
    }
    await waitFor(
      () => follow.stdout().includes('out done-counting'),
      () => `logs -f to reach the end: ${follow.stdout().slice(-300)}`,
      20_000,
    );
    expect(rotated('count').length).toBeGreaterThanOrEqual(8);
    expect(numbers(follow.stdout())).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // what it printed is the log itself, line for line, from where it started
    const all = wholeLog('count');
    const printed = outLines(follow.stdout());
    const from = all.indexOf(printed[0]!);
    expect(all.slice(from, from + printed.length)).toEqual(printed);

    follow.child.kill('SIGINT');
    expect((await follow.done).code).toBe(0);
  });

  it('several names: the last N of each, merged by time and prefixed; -f interleaves them as they come; SIGTERM ends it with 0', async () => {
    const go = join(sb.dir, 'go');
    // web and db take turns, each line after the other's, so the merged order is known; the 0.1 s
    // between turns is not a wait for an event but keeps svrun's millisecond timestamps apart
    sb.service(
      'web',
      `for i in 1 3 5; do while [ ! -e ${sb.dir}/t$i ]; do sleep 0.01; done; sleep 0.1; echo "web $i"; touch ${sb.dir}/t$((i+1)); done\nwhile [ ! -e ${go} ]; do sleep 0.02; done\necho web-after; touch ${sb.dir}/web-after\n${forever('web')}`,
    );
    sb.service(
      'db',
      `for i in 2 4 6; do while [ ! -e ${sb.dir}/t$i ]; do sleep 0.01; done; sleep 0.1; echo "db $i"; touch ${sb.dir}/t$((i+1)); done\nwhile [ ! -e ${sb.dir}/web-after ]; do sleep 0.01; done; sleep 0.1\necho db-after\n${forever('db')}`,
    );
    expect((await sb.svctl(['up', 'web', 'db'])).code).toBe(0);
    writeFileSync(join(sb.dir, 't1'), '');
    await waitFor(() => sb.log('db').includes('out db 6'), 'the turns taken', SLOW);

    const r = await sb.svctl(['logs', 'web', 'db', '-n', '3']);
    expect(r.code).toBe(0);
    expect(outLines(r.stdout).map((l) => l.replace(/ \| \S+Z /, ' | '))).toEqual([
      'web | out web 1',
      'db  | out db 2',
      'web | out web 3',
      'db  | out db 4',
      'web | out web 5',
      'db  | out db 6',
    ]);
    // the whole logs: every line once, prefixed, in time order
    const both = await sb.svctl(['logs', 'db', 'web']);
    const lines = outLines(both.stdout);
    expect(lines.filter((l) => l.startsWith('web | ')).map((l) => l.slice(6))).toEqual(outLines(sb.log('web')));
    expect(lines.filter((l) => l.startsWith('db  | ')).map((l) => l.slice(6))).toEqual(outLines(sb.log('db')));
    const times = lines.map((l) => lineTime(l.slice(6))!);
    expect(times).toEqual([...times].sort((a, b) => a - b));

    const follow = startSvctl(sb, ['logs', 'web', 'db', '-f', '-n', '1']);
    await waitFor(
      () => follow.stdout().includes('out db 6'),
      () => `logs -f to print the last lines: ${follow.stdout()}`,
      SLOW,
    );
    expect(outLines(follow.stdout()).map((l) => l.replace(/ \| \S+Z /, ' | '))).toEqual(['web | out web 5', 'db  | out db 6']);
    writeFileSync(go, '');
    await waitFor(
      () => follow.stdout().includes('out web-after') && follow.stdout().includes('out db-after'),
      () => `both followed: ${follow.stdout()}`,
      SLOW,
    );
    const followed = outLines(follow.stdout());
    expect(followed.every((l) => /^(web|db ) \| \S+Z out /.test(l))).toBe(true);
    expect(followed.filter((l) => l.endsWith('out web-after'))).toEqual([expect.stringMatching(/^web \| /)]);
    expect(followed.filter((l) => l.endsWith('out db-after'))).toEqual([expect.stringMatching(/^db {2}\| /)]);
    expect(followed.findIndex((l) => l.endsWith('web-after'))).toBeLessThan(followed.findIndex((l) => l.endsWith('db-after')));
    follow.child.kill('SIGTERM');
    const done = await follow.done;
    expect(done.code).toBe(0);
    expect(done.stderr).toBe('');
  });

  it('no name: every service with a log, the last N of each, merged by time and prefixed (one service too); -f follows them all', async () => {
    sb.service(
      'web',
      `for i in 1 2 3; do echo "web $i"; done\ntouch ${sb.dir}/web-done\nwhile [ ! -e ${sb.dir}/go ]; do sleep 0.02; done\necho web-later\n${forever('web')}`,
    );
    sb.service('db', `while [ ! -e ${sb.dir}/web-done ]; do sleep 0.01; done\nfor i in 1 2 3; do echo "db $i"; done\n${forever('db')}`);
    sb.service('idle', forever('idle'), { down: '' }); // never started: no log, and no complaint about it
    expect((await sb.svctl(['up'])).code).toBe(0);
    await waitFor(() => sb.log('db').includes('out db 3') && sb.log('web').includes('out web 3'), 'both logged', SLOW);

    const r = await sb.svctl(['logs', '-n', '2']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = outLines(r.stdout);
    // names padded to the longest service's (idle's too: under -f its lines may come); in the scan
    // directory's order, which is the merge's at equal times (a stable sort keeps it)
    const tagged = [
      ...outLines(sb.log('db'))
        .slice(-2)
        .map((l) => `db   | ${l}`),
      ...outLines(sb.log('web'))
        .slice(-2)
        .map((l) => `web  | ${l}`),
    ];
    expect(lines).toEqual(tagged.sort((a, b) => lineTime(a.slice(7))! - lineTime(b.slice(7))!));
    expect(lines.map((l) => l.replace(/ \| \S+Z /, ' | '))).toContain('db   | out db 3');

    // one service in the folder: still prefixed, so the form does not change with the count
    const one = new Sandbox();
    try {
      one.service('solo', `echo solo-line\nexec ${one.marker('solo')} 1000`);
      expect((await one.svctl(['up'])).code).toBe(0);
      // both lines in: whichever came last (the service's echo and svrun's ready race) is the one shown
      await waitFor(() => one.log('solo').includes('out solo-line') && one.log('solo').includes('svrun ready'), 'solo logged', SLOW);
      const last = outLines(one.log('solo')).at(-1)!;
      expect(last).toMatch(/^\S+Z (out solo-line|svrun ready)$/);
      expect(outLines((await one.svctl(['logs', '-n', '1'])).stdout)).toEqual([`solo | ${last}`]);
    } finally {
      await one.cleanup();
    }

    const follow = startSvctl(sb, ['logs', '-f', '-n', '1']);
    await waitFor(
      () => outLines(follow.stdout()).length === 2,
      () => `logs -f to print the last line of each: ${follow.stdout()}`,
      SLOW,
    );
    writeFileSync(join(sb.dir, 'go'), '');
    await waitFor(
      () => follow.stdout().includes('out web-later'),
      () => `web followed: ${follow.stdout()}`,
      SLOW,
    );
    expect(outLines(follow.stdout()).at(-1)).toMatch(/^web {2}\| \S+Z out web-later$/);
    follow.child.kill('SIGTERM');
    expect((await follow.done).code).toBe(0);
  });

  it('no name and no service has a log yet: one line, exit 1', async () => {
    sb.service('idle', forever('idle'));
    const r = await sb.svctl(['logs']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`svctl: no service has a log yet in ${sb.scan}\n`);
  });

  it('a service with a log/ logger has no built-in log: one line naming it, exit 1 unless another name has a log', async () => {
    sb.service('own', forever('own'), { 'log/run': '#!/bin/sh\nexec cat > /dev/null' });
    sb.service('web', `echo hello\n${forever('web')}`);
    expect((await sb.svctl(['up'])).code).toBe(0);
    await waitFor(() => sb.log('web').includes('out hello'), 'web logged', SLOW);

    const alone = await sb.svctl(['logs', 'own']);
    expect(alone.code).toBe(1);
    expect(alone.stdout).toBe('');
    expect(outLines(alone.stderr)).toEqual([expect.stringMatching(/^svctl: own: .*log\/run/)]);
    expect((await sb.svctl(['logs', 'own', '-f'])).code).toBe(1);

    const mixed = await sb.svctl(['logs', 'own', 'web']);
    expect(mixed.code).toBe(0);
    expect(outLines(mixed.stderr)).toEqual([expect.stringMatching(/^svctl: own: .*log\/run/)]);
    expect(outLines(mixed.stdout)).toEqual(outLines(sb.log('web')).map((l) => `web | ${l}`));

    const unknown = await sb.svctl(['logs', 'web', 'nosuch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^svctl: nosuch: no such service/);
  });
});
