// A settings file with a near-miss name (`timeout_kill`) is no setting at
// all: svctl up and svrun each say so once, in one line naming the file and
// the likely intended name, and the service starts all the same.
import { describe, expect, it } from 'vitest';
import { type Sandbox, withSandbox } from '../../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

describe('a mistyped setting', { timeout: 30_000 }, () => {
  it('svctl up warns once per file with the intended name, exit 0, the service up; its svrun logs it once', async () => {
    const m = sb.marker('web');
    sb.service('web', `exec ${m} 1000`, { timeout_kill: '300', 'Down-Signal': 'QUIT' });
    const r = await sb.svctl(['up', 'web']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      [
        'svctl: warning: web/Down-Signal: not a setting svkit reads, ignored (did you mean down-signal?)',
        'svctl: warning: web/timeout_kill: not a setting svkit reads, ignored (did you mean timeout-kill?)',
        '',
      ].join('\n'),
    );
    await sb.waitRunning('web', m);
    const log = await sb.waitLog('web', /svrun started pid/);
    expect(log.match(/svrun error: web\/timeout_kill: not a setting svkit reads, ignored \(did you mean timeout-kill\?\)$/gm)).toHaveLength(
      1,
    );
    expect(sb.status('web')!.lastError).toBeNull();
    // the defaults hold: timeout-kill was not read
    expect((sb.status('web') as { settings?: { timeoutKillMs?: number } }).settings?.timeoutKillMs ?? 7000).toBe(7000);
    expect((await sb.svctl(['down'])).code).toBe(0);
  });
});
