// Fault suite, log flood: a service writing numbered lines as fast as it can
// through the built-in logger, with log/config "size 1 MiB, keep 3". The log
// folder must stay bounded the whole time (sampled while it floods) and the
// kept files must end with every line up to the last, none lost or repeated.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuMs, every, pidsByArgv0, reportFigures, rssKiB, type Sandbox, SOAK, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const SIZE = 1024 * 1024;
const KEEP = 3;
/** Each line the service writes: its number, then padding to 64 bytes with the newline. */
const PAD = 'x'.repeat(48);
const LINE_BYTES = 64;

const folderBytes = (dir: string): number => {
  let total = 0;
  for (const f of readdirSync(dir)) {
    try {
      total += statSync(join(dir, f)).size;
    } catch {
      /* rotated away between readdir and stat */
    }
  }
  return total;
};

const flood = async (bytes: number, deadlineMs: number) => {
  const lines = Math.ceil(bytes / LINE_BYTES);
  const seq = sb.marker('flood', 'seq');
  const idle = sb.marker('flood-idle');
  const dir = sb.service('flood', `${seq} -f '%015.0f ${PAD}' 1 ${lines}\nexec ${idle} 1000`, {
    'log/config': `size ${SIZE}\nkeep ${KEEP}\n`,
  });
  const logDir = join(dir, 'log');
  const sv = sb.svrun([dir], { stdio: 'ignore' });
  let maxFolder = 0;
  let maxFiles = 0;
  let maxRss = 0;
  const sampler = every(20, () => {
    maxFolder = Math.max(maxFolder, folderBytes(logDir));
    maxFiles = Math.max(maxFiles, readdirSync(logDir).length);
    maxRss = Math.max(maxRss, rssKiB(sv.pid!) ?? 0);
  });
  const t0 = Date.now();
  let elapsed: number;
  const last = `out ${String(lines).padStart(15, '0')} ${PAD}\n`;
  try {
    await waitFor(() => pidsByArgv0(idle).length === 1, 'the flood to be written', deadlineMs, 50);
    await waitFor(() => sb.log('flood').includes(last), 'the last line in log/current', 30_000, 50);
    elapsed = Date.now() - t0;
  } finally {
    sampler.stop();
  }
  const cpu = cpuMs(sv.pid!)!;
  const files = [
    ...readdirSync(logDir)
      .filter((f) => f.startsWith('@'))
      .sort(),
    'current',
  ];
  const numbers: number[] = [];
  for (const f of files) {
    for (const m of readFileSync(join(logDir, f), 'latin1').matchAll(/ out (\d{15}) x+$/gm)) numbers.push(Number(m[1]));
  }
  const firstBad = numbers.findIndex((n, i) => n !== numbers[0]! + i);
  const st = sb.status('flood')!;
  reportFigures(sb, SOAK ? 'log-flood-soak' : 'log-flood', {
    bytesWritten: lines * LINE_BYTES,
    lines,
    elapsedMs: elapsed,
    linesPerSecond: Math.round(lines / (elapsed / 1000)),
    svrunCpuMs: cpu,
    svrunRssKiBMax: maxRss,
    logFolderBytesMax: maxFolder,
    logFolderFilesMax: maxFiles,
    keptFiles: files.length,
    keptLines: numbers.length,
    firstKept: numbers[0],
    lastKept: numbers[numbers.length - 1],
    restarts: st.restarts,
  });
  // bounded: keep rotated files + current (+ one rotated file being pruned) + log/config
  expect(maxFolder).toBeLessThanOrEqual((KEEP + 2) * SIZE);
  expect(files).toHaveLength(KEEP + 1);
  // no line lost or repeated in what is kept, and the kept window ends at the last line
  expect(firstBad === -1 ? null : numbers.slice(Math.max(0, firstBad - 2), firstBad + 2)).toBeNull();
  expect(numbers[numbers.length - 1]).toBe(lines);
  expect(numbers.length).toBeGreaterThan((KEEP * SIZE) / 100);
  expect(st).toMatchObject({ state: 'up', restarts: 0, lastError: null });
};

describe('fault: log flood', () => {
  it('50 MB as fast as the service can write: log/ bounded by size x keep, no line lost', async () => {
    await flood(50e6, 25_000);
  });
});

describe.skipIf(!SOAK)('fault: log flood (soak: set SVKIT_SOAK=1, ~2 min)', () => {
  it('1.6 GB: log/ bounded, no line lost', { timeout: 900_000 }, async () => {
    await flood(1.6e9, 800_000);
  });
});
