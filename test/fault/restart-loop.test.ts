// Fault suite, restart loop: one service restarted again and again through
// its supervisor's control FIFO (d then u: what `svctl restart` sends, a fresh
// start each time, no backoff). A supervisor that leaked one descriptor or a
// few KiB per run would show it here: /proc/PID/fd before and after, RSS
// sampled throughout.
import { describe, expect, it } from 'vitest';
import { control, fdCount, isAlive, pidsByArgv0, reportFigures, rssKiB, type Sandbox, SOAK, waitFor, withSandbox } from '../helpers.js';

let sb!: Sandbox;
withSandbox((s) => (sb = s));

const restartLoop = async (restarts: number) => {
  const m = sb.marker('loop');
  const dir = sb.service('loop', `exec ${m} 1000`, { 'timeout-kill': '300' });
  const sv = sb.svrun([dir], { stdio: 'ignore' });
  let st = await sb.waitRunning('loop', m, 10_000);
  // measured once the first run is up: svrun's own start-up is behind it
  const fd0 = fdCount(sv.pid!)!;
  const rss0 = rssKiB(sv.pid!)!;
  let rssMax = rss0;
  /** RSS at each tenth of the loop: a leak climbs steadily, a heap settling levels off. */
  const rssTrend: number[] = [];
  const t0 = Date.now();
  for (let i = 1; i <= restarts; i++) {
    const old = st.pid!;
    control(dir, 'du');
    st = await sb.waitStatus('loop', (s) => s.state === 'up' && s.pid !== old && s.pid !== null, `restart ${i}`, 10_000);
    expect(isAlive(old), `restart ${i}: the old run ${old} still alive`).toBe(false);
    if (i % 50 === 0) rssMax = Math.max(rssMax, rssKiB(sv.pid!) ?? 0);
    if (i % Math.max(1, Math.floor(restarts / 10)) === 0) rssTrend.push(rssKiB(sv.pid!) ?? 0);
  }
  const elapsed = Date.now() - t0;
  // descriptors open for a spawn in flight close a moment later: wait, bounded, for the count to settle
  const fd1 = await waitFor(
    () => {
      const n = fdCount(sv.pid!);
      return n !== null && n <= fd0 ? n : null;
    },
    () => `svrun's descriptors back to ${fd0} (now ${fdCount(sv.pid!)}: ${sb.status('loop')?.state})`,
    5000,
  ).catch(() => fdCount(sv.pid!));
  const rss1 = rssKiB(sv.pid!)!;
  rssMax = Math.max(rssMax, rss1);
  reportFigures(sb, SOAK ? 'restart-loop-soak' : 'restart-loop', {
    restarts,
    elapsedMs: elapsed,
    msPerRestart: Number((elapsed / restarts).toFixed(1)),
    fdsBefore: fd0,
    fdsAfter: fd1,
    rssKiBBefore: rss0,
    rssKiBAfter: rss1,
    rssKiBMax: rssMax,
    rssKiBEveryTenth: rssTrend,
    statusRestarts: sb.status('loop')!.restarts,
  });
  expect(fd1).toBe(fd0);
  expect(pidsByArgv0(m)).toEqual([st.pid]);
  // bounded memory: the heap may settle higher than at start, never grow with the count
  expect(rssMax).toBeLessThan(rss0 + 64 * 1024);
};

describe('fault: restart loop', () => {
  it('100 restarts: svrun holds no more descriptors after than before, RSS bounded', async () => {
    await restartLoop(100);
  });
});

describe.skipIf(!SOAK)('fault: restart loop (soak: set SVKIT_SOAK=1, 8-15 min)', () => {
  it('10,000 restarts: no descriptor growth, RSS bounded', { timeout: 1_800_000 }, async () => {
    await restartLoop(10_000);
  });
});
