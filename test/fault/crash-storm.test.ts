// Fault suite, crash storm: many services whose run exits at once, each under
// its own svrun. Over a window the supervisors must stay cheap (CPU time from
// /proc), back off toward the cap exactly as SPEC.md's sequence says, and
// keep status.json whole for a reader hammering it from another process.
import { describe, expect, it } from 'vitest';
import { restartDelay } from '../../src/backoff.js';
import { BACKOFF_CAP_MS } from '../../src/defaults.js';
import { cpuMs, reportFigures, type Sandbox, SOAK, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

/**
 * Reads every status.json in a tight loop for `ms` (argv: ms, files...) in a
 * process of its own; prints reads, parse failures (a file that vanished after
 * it was seen counts too) and per file the longest backoff seen
 * (nextStartAt - since).
 */
const READER = `
const fs = require('node:fs');
const [ms, ...files] = process.argv.slice(1);
const end = Date.now() + Number(ms);
let reads = 0, failures = 0; const seen = new Set(); const maxDelay = {}; const firstFailure = [];
while (Date.now() < end) {
  for (const f of files) {
    let text;
    try { text = fs.readFileSync(f, 'utf8'); } catch (e) { if (seen.has(f)) { failures++; firstFailure.push(e.message); } continue; }
    reads++; seen.add(f);
    try {
      const s = JSON.parse(text);
      if (s.state === 'backoff' && s.nextStartAt) maxDelay[f] = Math.max(maxDelay[f] ?? 0, Date.parse(s.nextStartAt) - Date.parse(s.since));
    } catch (e) { failures++; if (firstFailure.length < 3) firstFailure.push(e.message + ': ' + JSON.stringify(text.slice(0, 80))); }
  }
}
console.log(JSON.stringify({ reads, failures, maxDelay, firstFailure: firstFailure.slice(0, 3) }));
`;

const storm = async (services: number, windowMs: number, minMaxDelay: number) => {
  const names = Array.from({ length: services }, (_, i) => `crash${i}`);
  const dirs = names.map((n) => sb.service(n, 'exit 1'));
  const supervisors = dirs.map((d) => sb.svrun([d], { stdio: 'ignore' }));
  // the window starts once every supervisor has its first restart behind it (start-up cost excluded)
  await waitFor(() => names.every((n) => (sb.status(n)?.restarts ?? 0) >= 1), 'every service to have crashed once', 5000 + services * 2000);
  const cpu0 = supervisors.map((s) => cpuMs(s.pid!)!);
  const t0 = Date.now();
  const read = await sb.exec(process.execPath, ['-e', READER, String(windowMs), ...names.map((n) => sb.statusPath(n))], windowMs + 30_000);
  const window = Date.now() - t0;
  const cpu1 = supervisors.map((s) => cpuMs(s.pid!));
  expect(read.code, read.stderr).toBe(0);
  const reader = JSON.parse(read.stdout) as { reads: number; failures: number; maxDelay: Record<string, number>; firstFailure: string[] };

  // every supervisor still there, each having used little CPU over the window
  expect(
    cpu1.every((c) => c !== null),
    'a supervisor died in the storm',
  ).toBe(true);
  const used = cpu1.map((c, i) => c! - cpu0[i]!);
  const total = used.reduce((a, b) => a + b, 0);

  // the restart delays each supervisor logged are SPEC.md's sequence: 0, 100, 200, ... capped
  const delays = names.map((n) => [...sb.log(n).matchAll(/svrun restarting in (\d+) ms/g)].map((m) => Number(m[1])));
  const restarts = names.map((n) => sb.status(n)!.restarts);
  const maxDelay = Math.max(...Object.values(reader.maxDelay));
  const figures = {
    services: services,
    windowMs: window,
    svrunCpuMsTotal: total,
    svrunCpuMsMax: Math.max(...used),
    svrunCpuPercentOfWindowPerSupervisor: Number(((100 * total) / services / window).toFixed(3)),
    restartsTotal: restarts.reduce((a, b) => a + b, 0),
    statusReads: reader.reads,
    statusParseFailures: reader.failures,
    longestBackoffSeenMs: maxDelay,
  };
  reportFigures(sb, SOAK ? 'crash-storm-soak' : 'crash-storm', figures);

  expect(reader.firstFailure).toEqual([]);
  expect(reader.failures).toBe(0);
  expect(reader.reads).toBeGreaterThan(services * 100);
  for (const [i, seq] of delays.entries()) {
    expect(seq.length, `${names[i]}: restarts logged`).toBeGreaterThanOrEqual(5);
    expect(seq, `${names[i]}: backoff sequence`).toEqual(seq.map((_, k) => restartDelay(k)));
  }
  expect(maxDelay).toBeGreaterThanOrEqual(minMaxDelay);
  expect(maxDelay).toBeLessThanOrEqual(BACKOFF_CAP_MS + 50);
  // a crash-looping service costs its supervisor little: under 5% of one core on average
  expect(figures.svrunCpuPercentOfWindowPerSupervisor).toBeLessThan(5);
  for (const [i, n] of names.entries()) expect(sb.status(n)!.supervisor?.pid, `${n}: its supervisor`).toBe(supervisors[i]!.pid);
};

describe('fault: crash storm', () => {
  it('8 services exiting at once: svrun stays cheap, backs off along the sequence, status.json always parses', async () => {
    await storm(8, 4000, 1600);
  });
});

describe.skipIf(!SOAK)('fault: crash storm (soak: set SVKIT_SOAK=1, ~2 min)', () => {
  it('30 services for 95 s: backoff reaches its 30 s cap', { timeout: 180_000 }, async () => {
    await storm(30, 95_000, BACKOFF_CAP_MS);
  });
});
