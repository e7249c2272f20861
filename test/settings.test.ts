// The files a service folder may hold (src/settings.ts): the list is the
// one docs/services.md documents, and a file that looks like a mistyped one
// is named with the setting it most likely meant.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { meantSetting, SETTING_FILES, settingNearMisses } from '../src/settings.js';
import { ROOT } from './helpers.js';

describe('settings', () => {
  it("is the list docs/services.md's tables document (listen: docs/services.md once sockets are documented there)", () => {
    const doc = readFileSync(join(ROOT, 'docs/services.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `([a-z][a-z-]*)(?:\/[a-z]*)?` \|/gm)].map((m) => m[1]!));
    expect([...documented].filter((f) => !(SETTING_FILES as readonly string[]).includes(f))).toEqual([]);
    expect(SETTING_FILES.filter((f) => !documented.has(f) && f !== 'listen')).toEqual([]);
  });

  it.each([
    ['timeout_kill', 'timeout-kill'],
    ['Timeout-Kill', 'timeout-kill'],
    ['timeout-kil', 'timeout-kill'],
    ['timeoutkill', 'timeout-kill'],
    ['memory_max', 'memory-max'],
    ['notification_fd', 'notification-fd'],
    ['Run', 'run'],
    ['requries', 'requires'],
    ['DOWN', 'down'],
  ])('%s: meant %s', (file, meant) => expect(meantSetting(file)).toBe(meant));

  it.each(['run', 'timeout-kill', 'supervise', 'README', 'config.yml', 'data', 'run.sh', 'env.txt', '.timeout_kill', 'app.pid'])(
    '%s: nothing to say',
    (file) => expect(meantSetting(file)).toBeNull(),
  );

  it("settingNearMisses: one line per regular file that looks mistyped; folders are the service's own business", () => {
    const dir = mkdtempSync(join(tmpdir(), 'svkit-settings-'));
    try {
      for (const f of ['run', 'timeout_kill', 'README']) writeFileSync(join(dir, f), '1\n');
      mkdirSync(join(dir, 'Log'));
      expect(settingNearMisses(dir, 'web')).toEqual(['web/timeout_kill: not a setting svkit reads, ignored (did you mean timeout-kill?)']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
