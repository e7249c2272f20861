// The reaper record (src/supervise/reaper.ts): the lines svrun hands its task
// reaper, one per target. The reaper at work, with real processes:
// test/supervisor/taskreaper.proc.test.ts.
import { describe, expect, it } from 'vitest';
import { targetLine } from '../../src/supervise/reaper.js';

describe('targetLine', () => {
  it('names the group only with it, drops a cgroup path the script could not read back', () => {
    const t = { pgid: 42, pidStart: 7, signal: 'SIGHUP' as const, timeoutKillMs: 300, cgroup: '/sys/fs/cgroup/a b' };
    expect(targetLine('run', t)).toBe('1 run 42 7 HUP 300 /sys/fs/cgroup/a b\n');
    expect(targetLine('log', { ...t, pgid: null, cgroup: '/x\ny' })).toBe('1 log - - HUP 300 -\n');
    expect(targetLine('run', { ...t, pidStart: null, cgroup: null }, 3)).toBe('3 run 42 - HUP 300 -\n');
  });

  it('v1 cgroups follow on lines of their own; one the script would split is left out', () => {
    const t = { pgid: 42, pidStart: 7, signal: 'SIGTERM' as const, timeoutKillMs: 300, cgroup: '/sys/fs/cgroup/unified/x' };
    expect(targetLine('run', { ...t, v1Cgroups: ['/sys/fs/cgroup/pids/x', '/a b/x', '/sys/fs/cgroup/cpu/x'] })).toBe(
      '1 run 42 7 TERM 300 /sys/fs/cgroup/unified/x\n1 v1 /sys/fs/cgroup/pids/x\n1 v1 /sys/fs/cgroup/cpu/x\n',
    );
  });
});
