// docs/container.md and examples/ checked without Docker or a cluster (none
// on the machines this runs on): the doc shows the very files examples/
// holds, the service folders are valid, the Dockerfile copies what exists,
// the JSON arrays parse, and the grace periods leave boot its shutdown time.
// (Each svctl command they use is checked in commands.test.ts.)
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KILL_WAIT_MS } from '../../src/defaults.js';
import { fencedBlock } from './commands.js';
import { exitOf, freePort, ROOT, Sandbox, SVCTL, waitFor, withSandbox } from '../helpers.js';

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const doc = read('docs/container.md');
const dockerfile = read('examples/Dockerfile');
const pod = read('examples/k8s/pod.yaml');


/** Docker's grace period when `docker stop` is given no -t. */
const DOCKER_STOP_DEFAULT_MS = 10_000;

/** The JSON array of a Dockerfile instruction in exec form (`ENTRYPOINT ["svctl", ...]`). */
const execForm = (instruction: string): string[] => {
  const lines = dockerfile.split('\n').filter((l) => l.startsWith(`${instruction} `));
  expect(lines, instruction).toHaveLength(1);
  return JSON.parse(lines[0]!.slice(lines[0]!.indexOf('['))) as string[];
};

/** `--shutdown-timeout MS` of an argv, in ms. */
const shutdownTimeout = (argv: string[]): number => Number(argv[argv.indexOf('--shutdown-timeout') + 1]);

/** The lines of a YAML mapping's block under `key:` (deeper indented than the key). */
const yamlBlock = (text: string, key: string): string[] => {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trimStart().startsWith(`${key}:`));
  expect(at, key).toBeGreaterThanOrEqual(0);
  const indent = lines[at]!.search(/\S/);
  const block: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.trim() !== '' && l.search(/\S/) <= indent) break;
    block.push(l);
  }
  return block;
};

/** A `key: [..]` flow sequence in YAML lines, as JSON (every one here is written so). */
const flowSequence = (lines: string[], key: string): string[] => {
  const line = lines.find((l) => l.trimStart().startsWith(`${key}: [`));
  expect(line, key).toBeDefined();
  return JSON.parse(line!.slice(line!.indexOf('['))) as string[];
};

describe('docs/container.md and examples/', () => {
  it('shows the very Dockerfile and pod spec that examples/ holds', () => {
    expect(fencedBlock(doc, 'dockerfile')).toBe(dockerfile);
    expect(fencedBlock(doc, 'yaml')).toBe(pod);
  });

  it('the example service folders are valid (svctl reads them as boot would)', () => {
    const r = spawnSync(process.execPath, [SVCTL, '-d', join(ROOT, 'examples/services'), 'graph'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('metrics migrate\nworker\n'); // the worker after its migration
  });

  it('the example app parses and its package is valid JSON', () => {
    for (const f of readdirSync(join(ROOT, 'examples/app')).filter((f) => f.endsWith('.mjs'))) {
      const r = spawnSync(process.execPath, ['--check', join(ROOT, 'examples/app', f)], { encoding: 'utf8' });
      expect(r.stderr, f).toBe('');
    }
    expect(JSON.parse(read('examples/app/package.json')).type).toBe('module');
  });

  it('the Dockerfile copies what exists, runs boot as its entry point, and stops within docker stop\'s default grace period', () => {
    // every COPY from the build context (the repository's root) names something that is there
    for (const line of dockerfile.split('\n').filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const s of sources) expect(existsSync(join(ROOT, s)), `${line}: ${s}`).toBe(true);
    }
    const entry = execForm('ENTRYPOINT');
    expect(entry.slice(0, 2)).toEqual(['svctl', 'boot']);
    expect(entry.at(-1)).toBe('--'); // CMD's words are CMD's, never boot's options
    expect(execForm('CMD')[0]).toBe('node');
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["svctl", "check"\]$/m);
    // boot may take KILL_WAIT_MS past its shutdown timeout to SIGKILL what is left
    expect(shutdownTimeout(entry) + KILL_WAIT_MS).toBeLessThanOrEqual(DOCKER_STOP_DEFAULT_MS);
  });

  it('the pod spec: well-formed, probes run svctl check, and the grace period is above boot\'s shutdown timeout', () => {
    // the YAML subset it is written in: spaces, two at a time, and `key: value`, `key:` or `- ...` lines
    for (const [i, line] of pod.split('\n').entries()) {
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
      expect(line, `line ${i + 1}`).not.toMatch(/\t/);
      expect(line.search(/\S/) % 2, `line ${i + 1} indentation`).toBe(0);
      expect(line.trimStart(), `line ${i + 1}`).toMatch(/^(- )?[A-Za-z][\w.-]*:( .+)?$|^- /);
    }
    expect(pod).toMatch(/^apiVersion: v1$/m);
    expect(pod).toMatch(/^kind: Pod$/m);
    const container = yamlBlock(pod, 'containers');
    const command = flowSequence(container, 'command');
    expect(command.slice(0, 2)).toEqual(['svctl', 'boot']);
    expect(command.at(-1)).toBe('--');
    expect(flowSequence(container, 'args')).toEqual(execForm('CMD'));
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      expect(flowSequence(yamlBlock(pod, probe), 'command').slice(0, 2), probe).toEqual(['svctl', 'check']);
    }
    const grace = Number(/^ {2}terminationGracePeriodSeconds: (\d+)$/m.exec(pod)?.[1]);
    expect(shutdownTimeout(command) + KILL_WAIT_MS).toBeLessThan(grace * 1000);
    // the image's name is the one the Dockerfile's comment builds
    expect(dockerfile).toContain(`-t ${/^ +image: (\S+):latest$/m.exec(pod)?.[1]} .`);
  });
});

describe('the example stack, run without Docker', () => {
  let sb!: Sandbox;
  withSandbox((s) => (sb = s));

  it('boots as the image would: migrate, then the worker (ready through the client library), then CMD; docker stop stops it in order', async () => {
    // the image's /app and /etc/services, moved into this test's folder; svkit as the image has it (node_modules/svkit, svctl on the PATH)
    const app = sb.path('app');
    const services = sb.path('etc-services');
    cpSync(join(ROOT, 'examples/app'), app, { recursive: true });
    cpSync(join(ROOT, 'examples/services'), services, { recursive: true });
    mkdirSync(join(app, 'node_modules'));
    symlinkSync(ROOT, join(app, 'node_modules', 'svkit'));
    writeFileSync(join(sb.dir, 'bin', 'svctl'), `#!/bin/sh\nexec ${process.execPath} ${SVCTL} "$@"\n`, { mode: 0o755 });
    const port = await freePort();
    const metricsPort = await freePort();
    for (const name of readdirSync(services)) {
      const run = join(services, name, 'run');
      writeFileSync(run, readFileSync(run, 'utf8').replaceAll('/app/', `${app}/`).replaceAll(':9464', `:${metricsPort}`));
    }
    rmSync(join(services, 'worker', 'user')); // the image's user `node` is not on this machine
    const env = { ...sb.env, SVDIR: services, PORT: String(port), PATH: `${join(sb.dir, 'bin')}:${process.env.PATH}` };
    const cmd = execForm('CMD').map((w) => w.replace('/app/', `${app}/`));
    const boot = spawn(process.execPath, [SVCTL, 'boot', '--shutdown-timeout', String(shutdownTimeout(execForm('ENTRYPOINT'))), '--', ...cmd], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    boot.stdout.on('data', (d) => (out += d));
    boot.stderr.on('data', (d) => (out += d));
    await waitFor(() => out.includes(`app: listening on port ${port}`), () => `CMD listening: ${out}`, 20_000);
    // boot ran CMD after the services: the migration done, the worker ready
    expect(out.indexOf('migrate | out migrate: schema is up to date')).toBeGreaterThanOrEqual(0);
    expect(out.indexOf('migrate | out migrate')).toBeLessThan(out.indexOf('worker  | svrun started'));
    expect(out.indexOf('worker  | svrun ready')).toBeLessThan(out.indexOf('app: listening'));
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(await res.text()).toBe('hello from the svkit example\n');
    // the health check and the probes
    const check = spawnSync('svctl', ['check'], { env, encoding: 'utf8' });
    expect(check.stdout).toBe('');
    expect(check.status).toBe(0);
    // metrics has no readiness: it is up once spawned, and listens a moment later
    const scrape = () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    expect(await waitFor(scrape, () => `metrics served: ${out}`, 10_000)).toContain('svkit_up{service="worker"} 1');
    // docker stop: SIGTERM to boot; CMD stops first (exit 0 through onShutdown), then the worker finishes its job
    boot.kill('SIGTERM');
    expect(await exitOf(boot)).toBe(0);
    expect(out).toMatch(/^worker {2}\| out worker: stopping after \d+ jobs$/m);
    expect(sb.tokenPids()).toEqual([]);
  }, 60_000);
});
