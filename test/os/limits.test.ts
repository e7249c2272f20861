// Resource limits (SPEC.md "Resources and health"): the pure value -> file
// table for v1 and v2, the v2 implementation on a folder laid out like
// cgroupfs (so every machine exercises it) and the v1 one on the real
// hierarchies of a hybrid host. svrun with real services: limits.proc.test.ts.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CgroupDirs, cgroupDirs, prepareCgroupDirs, removeCgroupDirs } from '../../src/os/cgroup.js';
import { applyLimits, notAppliedLines, v1Writes, v2Writes } from '../../src/os/limits.js';
import { readUsage } from '../../src/os/usage.js';
import type { Limits } from '../../src/vocabulary.js';
import { cpuText, memoryText } from '../../src/svctl/engine/usage.js';
import { hasV1 } from './cgroupprobe.js';

const NONE: Limits = { memoryMax: null, cpuMax: null, pidsMax: null, nofile: null };
const ALL: Limits = { memoryMax: 32 * 1024 ** 2, cpuMax: 250, pidsMax: 5, nofile: 64 };

describe('limits: file contents (pure)', () => {
  it.each<[string, Limits, string[]]>([
    ['every limit', ALL, ['memory.max=33554432', 'cpu.max=250000 100000', 'pids.max=5']],
    ['none: every file reset', NONE, ['memory.max=max', 'cpu.max=max 100000', 'pids.max=max']],
    ['1% of a CPU', { ...NONE, cpuMax: 1 }, ['memory.max=max', 'cpu.max=1000 100000', 'pids.max=max']],
  ])('v2, %s', (_, l, want) => {
    expect(v2Writes(l).map((w) => `${w.file}=${w.text}`)).toEqual(want);
  });

  it.each<[string, Limits, string[]]>([
    ['every limit', ALL, ['memory.limit_in_bytes=33554432', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=250000', 'pids.max=5']],
    ['none: every file reset', NONE, ['memory.limit_in_bytes=-1', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=-1', 'pids.max=max']],
    [
      '50% of a CPU',
      { ...NONE, cpuMax: 50 },
      ['memory.limit_in_bytes=-1', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=50000', 'pids.max=max'],
    ],
  ])('v1, %s', (_, l, want) => {
    expect(v1Writes(l).map((w) => `${w.file}=${w.text}`)).toEqual(want);
  });

  it('the log line of a limit that cannot be had (SPEC text)', () => {
    expect(notAppliedLines(['memory', 'pids'])).toEqual([
      'limits: memory-max needs a memory cgroup; not applied',
      'limits: pids-max needs a pids cgroup; not applied',
    ]);
  });

  it.each<[number | null, string]>([
    [null, '-'],
    [512, '512B'],
    [4096, '4.0K'],
    [33554432, '32.0M'],
    [150 * 1024 ** 2, '150M'],
    [1.5 * 1024 ** 3, '1.5G'],
  ])('MEM column: %j -> %s', (bytes, text) => expect(memoryText(bytes)).toBe(text));

  it.each<[number | null, string]>([
    [null, '-'],
    [0.4213, '0.42s'],
    [59.999, '60.00s'],
    [187.5, '3m07s'],
    [7500, '2h05m'],
  ])('CPU column: %j -> %s', (s, text) => expect(cpuText(s)).toBe(text));
});

describe('limits: cgroup v2 on a folder laid out like cgroupfs', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  /** Our own cgroup (controllers available, none enabled yet) with the service's below it. */
  const fakeV2 = (subtree: 'file' | 'refused' = 'file'): CgroupDirs => {
    root = mkdtempSync(join(tmpdir(), 'svkit-fakecg-'));
    const own = join(root, 'own');
    const svc = join(own, 'svkit-web-0123456789');
    mkdirSync(svc, { recursive: true });
    writeFileSync(join(own, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    // a folder where the file should be: the write is refused, as EBUSY would refuse it
    if (subtree === 'file') writeFileSync(join(own, 'cgroup.subtree_control'), 'cpu\n');
    else mkdirSync(join(own, 'cgroup.subtree_control'));
    return { v2: svc, memory: null, cpu: null, cpuacct: null, pids: null };
  };
  const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

  it('every limit: controllers not enabled yet enabled in one write, then the files written', () => {
    const dirs = fakeV2();
    expect(applyLimits(dirs, ALL)).toEqual([]);
    expect(read(join(dirs.v2!, '..'), 'cgroup.subtree_control')).toBe('+memory +pids');
    expect(['memory.max', 'cpu.max', 'pids.max'].map((f) => read(dirs.v2!, f))).toEqual(['33554432', '250000 100000', '5']);
  });

  it('a refused subtree_control: every limit set is reported, nothing half applied counts as applied', () => {
    const dirs = fakeV2('refused');
    expect(applyLimits(dirs, { ...NONE, memoryMax: 4096, pidsMax: 9 }).sort()).toEqual(['memory', 'pids']);
  });

  it('no cgroup at all: each limit set is not applied; none set: nothing to report', () => {
    const none: CgroupDirs = { v2: null, memory: null, cpu: null, cpuacct: null, pids: null };
    expect(applyLimits(none, ALL)).toEqual(['memory', 'cpu', 'pids']);
    expect(applyLimits(none, NONE)).toEqual([]);
    expect(readUsage(none)).toBeNull();
  });

  it('usage: memory.current, cpu.stat usage_usec, pids.current, memory.events oom_kill', () => {
    const dirs = fakeV2();
    writeFileSync(join(dirs.v2!, 'memory.current'), '1048576\n');
    writeFileSync(join(dirs.v2!, 'cpu.stat'), 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n');
    writeFileSync(join(dirs.v2!, 'pids.current'), '3\n');
    writeFileSync(join(dirs.v2!, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n');
    expect(readUsage(dirs)).toEqual({ memoryBytes: 1048576, cpuSeconds: 2.5, pids: 3, oomKills: 2 });
  });
});

describe.runIf(hasV1)('limits: cgroup v1 on the real hierarchies', () => {
  it('written, read back, reset to no limit; usage read from them', () => {
    const superviseDir = mkdtempSync(join(tmpdir(), 'svkit-v1-'));
    const dirs = prepareCgroupDirs('v1probe', superviseDir);
    try {
      expect(dirs).toEqual(cgroupDirs('v1probe', superviseDir));
      expect(applyLimits(dirs, ALL)).toEqual([]);
      const read = (d: string | null, f: string) => readFileSync(join(d!, f), 'utf8').trim();
      expect([
        read(dirs.memory, 'memory.limit_in_bytes'),
        read(dirs.cpu, 'cpu.cfs_quota_us'),
        read(dirs.cpu, 'cpu.cfs_period_us'),
        read(dirs.pids, 'pids.max'),
      ]).toEqual(['33554432', '250000', '100000', '5']);
      expect(applyLimits(dirs, NONE)).toEqual([]);
      expect(read(dirs.cpu, 'cpu.cfs_quota_us')).toBe('-1');
      expect(read(dirs.pids, 'pids.max')).toBe('max');
      expect(Number(read(dirs.memory, 'memory.limit_in_bytes'))).toBeGreaterThan(2 ** 60);
      expect(readUsage(dirs)).toEqual({ memoryBytes: 0, cpuSeconds: 0, pids: 0, oomKills: 0 });
    } finally {
      expect(removeCgroupDirs(dirs)).toBe(true);
      rmSync(superviseDir, { recursive: true, force: true });
    }
    for (const d of Object.values(dirs)) if (d) expect(existsSync(d)).toBe(false);
  });
});
