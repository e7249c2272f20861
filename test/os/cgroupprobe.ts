// Which cgroups this machine lets svrun write, found as svrun finds them: a
// probe service's cgroup made and removed at once.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareCgroupDirs, removeCgroupDirs } from '../../src/os/cgroup.js';

const probeDir = mkdtempSync(join(tmpdir(), 'svkit-probe-'));
const v1Dirs = prepareCgroupDirs('probe', probeDir);
removeCgroupDirs(v1Dirs);
rmSync(probeDir, { recursive: true });
/** The memory, cpu and pids v1 hierarchies are writable (a hybrid host). */
export const hasV1 = v1Dirs.memory !== null && v1Dirs.cpu !== null && v1Dirs.pids !== null;
/** Limits can be had: v1, or a v2 cgroup with the controllers (the services' limits go there instead). */
export const hasControllers =
  hasV1 ||
  (v1Dirs.v2 !== null &&
    ['memory', 'cpu', 'pids'].every((c) => readFileSync(join(v1Dirs.v2!, '..', 'cgroup.controllers'), 'utf8').includes(c)));
/** Why the tests that need limits are skipped where hasControllers is false. */
export const NO_CGROUPS = 'no writable memory, cpu and pids cgroup (v1 or v2) on this machine';
