// heartbeat() and the automatic heartbeats of ready() (src/client/index.ts,
// SPEC.md "The Node client library") in real Node processes with a real pipe
// at the notification fd, read here as svrun would.
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, waitFor } from '../helpers.js';

const LIB = pathToFileURL(join(ROOT, 'dist/src/client/index.js')).href;

let tmp: string;
let children: ChildProcess[] = [];
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'svkit-heartbeat-'));
});
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  /** Everything read from the notification pipe so far. */
  notified: () => string;
  out: () => string;
  done: Promise<{ code: number | null; stderr: string }>;
}

/** Runs `body` after importing ready and heartbeat, with only the SVKIT_* variables given; `notifyFd` adds a pipe there. */
const start = (body: string, vars: Record<string, string>, notifyFd?: number): Run => {
  const file = join(tmp, `fixture${children.length}.mjs`);
  writeFileSync(file, `import { ready, heartbeat } from ${JSON.stringify(LIB)};\n${body}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('SVKIT_')) delete env[k];
  const stdio: StdioOptions = ['ignore', 'pipe', 'pipe'];
  if (notifyFd !== undefined) {
    while (stdio.length < notifyFd) stdio.push('ignore');
    stdio.push('pipe');
  }
  const child = spawn(process.execPath, [file], { env: { ...env, ...vars }, stdio });
  children.push(child);
  let notified = '';
  let out = '';
  let err = '';
  if (notifyFd !== undefined) (child.stdio[notifyFd] as Readable).on('data', (d: Buffer) => (notified += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((res) => child.once('close', (code) => res({ code, stderr: err })));
  return { child, notified: () => notified, out: () => out, done };
};

describe('heartbeat()', () => {
  it('is a no-op without a notification fd, with or without $SVKIT_WATCHDOG_MS', async () => {
    for (const vars of [{}, { SVKIT_WATCHDOG_MS: '90' }] as Record<string, string>[]) {
      const r = start("heartbeat(); ready(); heartbeat(); console.log('survived');", vars);
      expect(await r.done).toEqual({ code: 0, stderr: '' });
      expect(r.out()).toBe('survived\n');
    }
  });

  it('writes nothing before ready() (a line would announce readiness), nor after it without $SVKIT_WATCHDOG_MS (the fd is closed)', async () => {
    const r = start("heartbeat(); ready(); heartbeat(); console.log('done');", { SVKIT_NOTIFY_FD: '3' }, 3);
    expect(await r.done).toEqual({ code: 0, stderr: '' });
    expect(r.notified()).toBe('ready\n');
  });

  it('with $SVKIT_WATCHDOG_MS: after ready() each call writes a line, and the fd stays open', async () => {
    // a watchdog of 10 minutes: the automatic heartbeats (every 200 s) stay out of the way
    const r = start("ready(); heartbeat(); heartbeat(); console.log('done');", { SVKIT_NOTIFY_FD: '3', SVKIT_WATCHDOG_MS: '600000' }, 3);
    // the unref'd timer does not keep the process alive
    expect(await r.done).toEqual({ code: 0, stderr: '' });
    expect(r.notified()).toBe('ready\nheartbeat\nheartbeat\n');
  });
});

describe('ready() with $SVKIT_WATCHDOG_MS', () => {
  it('sends heartbeats every third of it while the event loop is free, and none while it is blocked', async () => {
    const r = start(
      "ready(); console.log('ready'); setInterval(() => {}, 1000);\n" +
        "process.on('SIGUSR1', () => { console.log('blocking'); const end = Date.now() + 600; while (Date.now() < end); console.log('free'); });",
      { SVKIT_NOTIFY_FD: '3', SVKIT_WATCHDOG_MS: '150' },
      3,
    );
    const beats = () =>
      r
        .notified()
        .split('\n')
        .filter((l) => l === 'heartbeat').length;
    const t0 = Date.now();
    await waitFor(() => beats() >= 5, 'five heartbeats', 5000, 5);
    const elapsed = Date.now() - t0;
    // every 50 ms: five take at least 200 ms
    expect(elapsed).toBeGreaterThanOrEqual(200);
    expect(r.notified().startsWith('ready\n')).toBe(true);
    r.child.kill('SIGUSR1');
    await waitFor(() => r.out().includes('blocking'), 'the loop blocked');
    const during = beats();
    await waitFor(() => r.out().includes('free'), 'the loop free again', 5000);
    // at most one timer run that was due as the block began; then they resume
    expect(beats() - during).toBeLessThanOrEqual(1);
    const after = beats();
    await waitFor(() => beats() >= after + 2, 'heartbeats again', 5000, 5);
  });
});
