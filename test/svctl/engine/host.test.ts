// Which of a host's stderr lines are about which of its services (svctl
// reports a refused folder with them), and when the environment asks for
// hosted supervisors. Pure.
import { describe, expect, it } from 'vitest';
import { hostFromEnv, linesOf } from '../../../src/svctl/engine/host.js';

describe("linesOf: a host's stderr lines by the service they name", () => {
  const lines = [
    'svrun: web/timeout-kill: expected milliseconds, got "soon"',
    'svrun: web.log is already supervised by pid 42',
    'svrun: db is already supervised by pid 42',
    'svrun: /srv/sv/gone: no such service directory',
    'svrun: worker@1/supervise: a regular file, not a directory',
    'svrun: worker@: a template is never started itself; start an instance (worker@NAME)',
    'svrun: too few file descriptors for 3 services (limit 40, needs at least 80): raise the hard limit (ulimit -Hn)',
  ];
  it.each([
    ['web', '/srv/sv/web', [lines[0]]],
    ['web.log', '/srv/sv/web.log', [lines[1]]],
    ['db', '/srv/sv/db', [lines[2]]],
    ['gone', '/srv/sv/gone', [lines[3]]],
    ['worker@1', '/srv/sv/worker@1', [lines[4]]],
    ['worker@', '/srv/sv/worker@', [lines[5]]],
    ['api', '/srv/sv/api', []],
  ])('%s', (name, dir, want) => {
    expect(linesOf(name, dir, lines)).toEqual(want);
  });
});

describe('hostFromEnv', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['0', false],
    ['1', true],
    ['yes', true],
  ])('SVKIT_HOST=%s: %s', (v, want) => {
    expect(hostFromEnv(v === undefined ? {} : { SVKIT_HOST: v })).toBe(want);
  });
});
