// docs/container.md and examples/ checked without Docker or a cluster (none
// on the machines this runs on): the doc shows the very files examples/
// holds, the service folders are valid, the JSON arrays parse, and the grace
// periods leave boot its shutdown time. The Dockerfile itself is run: each
// stage's COPY and RUN lines as written, into a folder standing for the
// image (test/docs/dockerfile.ts), and the image's stack is then booted as
// docker run would. (Each svctl command they use is checked in commands.test.ts.)
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KILL_WAIT_MS } from '../../src/defaults.js';
import { fencedBlock } from './commands.js';
import { canRunStages, dockerignoreOf, runStage, type StageRun, stages } from './dockerfile.js';
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

  it("the Dockerfile runs boot as its entry point, and stops within docker stop's default grace period", () => {
    const entry = execForm('ENTRYPOINT');
    expect(entry.slice(0, 2)).toEqual(['svctl', 'boot']);
    expect(entry.at(-1)).toBe('--'); // CMD's words are CMD's, never boot's options
    expect(execForm('CMD')[0]).toBe('node');
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["svctl", "check"\]$/m);
    // boot may take KILL_WAIT_MS past its shutdown timeout to SIGKILL what is left
    expect(shutdownTimeout(entry) + KILL_WAIT_MS).toBeLessThanOrEqual(DOCKER_STOP_DEFAULT_MS);
  });

  it("the pod spec: well-formed, probes run svctl check, and the grace period is above boot's shutdown timeout", () => {
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

describe('the example image, built from examples/Dockerfile and run without Docker', () => {
  const why = canRunStages();
  /** Said in each test's name where the image cannot be built here. */
  const skipped = why ? ` (skipped: ${why})` : '';
  let image = '';
  let stagesDir = '';
  let builder!: Sandbox;
  /** Each stage's file system, by name; the last one is the image. */
  const roots = new Map<string, string>();
  /** What the image's ENV lines set. */
  let imageEnv: Record<string, string> = {};

  beforeAll(() => {
    if (why) return;
    builder = new Sandbox();
    const all = stages(dockerfile);
    const run: StageRun = {
      context: ROOT,
      ignored: dockerignoreOf(join(ROOT, 'examples/Dockerfile'), ROOT),
      roots,
      // npm from its cache where it has the packages (npm ci filled it), quiet
      env: {
        ...builder.env,
        npm_config_prefer_offline: 'true',
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
      },
      runMs: 170_000,
    };
    // outside /tmp, which each RUN line sees as the image's own
    stagesDir = mkdtempSync('/var/tmp/svkit-test-image-');
    for (const stage of all) imageEnv = runStage(stage, join(stagesDir, stage.name), run);
    image = roots.get(all.at(-1)!.name)!;
  }, 180_000);
  afterAll(async () => {
    await builder?.cleanup();
    if (stagesDir) rmSync(stagesDir, { recursive: true, force: true });
  });

  let sb!: Sandbox;
  withSandbox((s) => (sb = s));

  it.skipIf(why !== null)(`stage svkit: its COPY and RUN lines as written pack svkit with its build${skipped}`, () => {
    const listing = spawnSync('tar', ['-tzf', join(roots.get('svkit')!, 'tmp', 'svkit.tgz')], { encoding: 'utf8' }).stdout.split('\n');
    for (const f of [
      'package.json',
      'dist/cmd/svctl.js',
      'dist/cmd/svctl-cli.js',
      'dist/cmd/svrun.cjs',
      'dist/src/client/index.js',
      'dist/src/client/index.d.ts',
    ]) {
      expect(listing, f).toContain(`package/${f}`);
    }
    expect(listing.filter((f) => /^package\/(src|test|node_modules)\//.test(f))).toEqual([]);
  });

  it.skipIf(why !== null)(
    `the image: svkit installed beside the app (library and programs on the PATH), the services in /etc/services${skipped}`,
    () => {
      expect(existsSync(join(image, 'tmp', 'svkit.tgz'))).toBe(false); // the RUN line removed it
      expect(JSON.parse(readFileSync(join(image, 'app/node_modules/svkit/package.json'), 'utf8')).name).toBe('svkit');
      for (const bin of ['svctl', 'svrun']) expect(statSync(join(image, 'app/node_modules/.bin', bin)).mode & 0o111, bin).not.toBe(0);
      expect(imageEnv.PATH).toBe('/app/node_modules/.bin:$PATH');
      expect(readdirSync(join(image, 'etc/services')).sort()).toEqual(readdirSync(join(ROOT, 'examples/services')).sort());
    },
  );

  it.skipIf(why !== null)(
    `boots as the image would: migrate, then the worker (ready through the client library), then CMD; docker stop stops it in order${skipped}`,
    async () => {
      // the image's /app and /etc/services, copied into this test's folder with their paths rewritten
      const app = sb.path('app');
      const services = sb.path('etc-services');
      cpSync(join(image, 'app'), app, { recursive: true, verbatimSymlinks: true });
      cpSync(join(image, 'etc/services'), services, { recursive: true });
      const port = await freePort();
      const metricsPort = await freePort();
      for (const name of readdirSync(services)) {
        const run = join(services, name, 'run');
        writeFileSync(run, readFileSync(run, 'utf8').replaceAll('/app/', `${app}/`).replaceAll(':9464', `:${metricsPort}`));
      }
      rmSync(join(services, 'worker', 'user')); // the image's user `node` is not on this machine
      // the image's ENV, its PATH first: svctl and svrun are the installed ones
      const env = {
        ...sb.env,
        ...imageEnv,
        SVDIR: services,
        PORT: String(port),
        PATH: imageEnv.PATH!.replace('/app/', `${app}/`).replace('$PATH', process.env.PATH!),
      };
      const [program, ...entry] = execForm('ENTRYPOINT');
      const cmd = execForm('CMD').map((w) => w.replace('/app/', `${app}/`));
      const boot = spawn(program!, [...entry, ...cmd], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      boot.stdout.on('data', (d) => (out += d));
      boot.stderr.on('data', (d) => (out += d));
      await waitFor(
        () => out.includes(`app: listening on port ${port}`),
        () => `CMD listening: ${out}`,
        20_000,
      );
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
    },
    60_000,
  );
});
