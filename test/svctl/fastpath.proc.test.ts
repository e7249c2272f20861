// The built svctl's quick path (src/svctl/fastpath.ts, bundled into
// dist/cmd/svctl.js apart from commander): status and check load none of the
// Node modules only the other commands use.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_OK } from '../../src/defaults.js';
import { type Sandbox, SVCTL, withSandbox } from '../helpers.js';
import { DEAD_PID, prepareStatus, thisProcessAsSupervisor } from './inprocess.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/** web: up under a live supervisor (this process); db: never run. */
const prepare = () => {
  const sup = thisProcessAsSupervisor();
  prepareStatus(sb.service('web', 'exec sleep 1000'), {
    supervisor: sup,
    state: 'up',
    pid: DEAD_PID,
    pidStart: 1,
    startedAt: new Date().toISOString(),
  });
  sb.service('db', 'exec sleep 1000');
};

describe('the built svctl status and check', () => {
  it('load none of the Node modules only the other commands use (child_process, http)', () => {
    prepare();
    // a preload that lists the built-in modules loaded, as the process exits
    const probe = join(sb.dir, 'modules.cjs');
    writeFileSync(probe, "process.on('exit', () => require('fs').writeSync(2, JSON.stringify(process.moduleLoadList)));\n");
    for (const cmd of ['status', 'check']) {
      const r = spawnSync(process.execPath, ['-r', probe, SVCTL, '-d', sb.scan, cmd, 'web'], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status, r.stderr).toBe(EXIT_OK);
      const loaded = JSON.parse(r.stderr) as string[];
      expect(loaded).toContain('NativeModule fs'); // the probe saw the process's modules
      expect(loaded.filter((m) => /^NativeModule (child_process|http|readline)$/.test(m))).toEqual([]);
    }
    // the other commands still have them
    const r = spawnSync(process.execPath, ['-r', probe, SVCTL, '-d', sb.scan, 'graph'], { encoding: 'utf8', timeout: 20_000 });
    expect(JSON.parse(r.stderr.slice(r.stderr.indexOf('['))) as string[]).toContain('NativeModule child_process');
  });
});
