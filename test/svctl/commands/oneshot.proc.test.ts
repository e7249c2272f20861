// svctl with oneshots, whose svrun is a transaction that exits when done:
// up runs `run` once while its effect holds, down runs `stop`, a failure is
// reported, and a longrun may require a oneshot.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inBothModes, type Sandbox, svrunPids, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const count = (name: string) => (existsSync(sb.path(name)) ? readFileSync(sb.path(name), 'utf8').split('\n').filter(Boolean).length : 0);

inBothModes(
  () => sb,
  () => {
    describe('svctl and oneshots', () => {
      it('up runs it once, a longrun requiring it starts after; down stops the longrun, then runs stop', async () => {
        sb.service('setup', `echo run >> ${sb.path('runs')}\ntouch ${sb.path('flag')}`, {
          type: 'oneshot',
          stop: `#!/bin/bash\necho stop >> ${sb.path('stops')}\nrm -f ${sb.path('flag')}\n`,
        });
        sb.service('app', `exec ${sb.marker('app')} 1000`, { requires: 'setup', 'timeout-kill': '500' });
        expect(await sb.svctl(['up'])).toMatchObject({ code: 0, stderr: '' });
        expect(sb.status('setup')).toMatchObject({ type: 'oneshot', state: 'up' });
        expect(svrunPids(join(sb.scan, 'setup'))).toEqual([]); // the transaction is over
        expect(Date.parse(sb.status('app')!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(sb.status('setup')!.readyAt!));

        expect((await sb.svctl(['up'])).code).toBe(0);
        expect(count('runs')).toBe(1);
        expect((await sb.svctl(['check'])).code).toBe(0);
        const st = JSON.parse((await sb.svctl(['status', '--json', 'setup'])).stdout)[0];
        expect(st).toMatchObject({ state: 'up', supervised: false });
        expect(existsSync(sb.path('flag'))).toBe(true); // run's effect, undone by stop below

        expect(await sb.svctl(['down', 'setup'])).toMatchObject({ code: 0, stderr: '' });
        expect(existsSync(sb.path('flag'))).toBe(false);
        expect(count('stops')).toBe(1);
        expect(sb.status('setup')!.state).toBe('down');
        expect(sb.status('app')!.state).toBe('down');
      });

      it('a failing oneshot: up exits 1 naming it, what requires it is not started', async () => {
        sb.service('migrate', 'echo "schema locked" >&2; exit 1', { type: 'oneshot' });
        sb.service('app', `exec ${sb.marker('app')} 1000`, { requires: 'migrate' });
        const r = await sb.svctl(['up']);
        expect(r.code).toBe(1);
        const err = r.stderr.split('\n').filter(Boolean);
        expect(err[0]).toMatch(/^svctl: migrate: failed: run exited 1; last output: err schema locked$/);
        expect(err[1]).toBe('svctl: app: not started because migrate failed');
        expect(sb.status('migrate')).toMatchObject({ state: 'failed', lastExit: { code: 1 } });
        // never started, and no supervisor left (a host's is let go)
        expect(sb.status('app')?.startedAt ?? null).toBeNull();
        expect(JSON.parse((await sb.svctl(['status', '--json', 'app'])).stdout)[0]).toMatchObject({ state: 'down', supervised: false });
      });
    });
  },
);
