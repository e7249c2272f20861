// svctl metrics' pure half (src/svctl/metrics/prometheus.ts): status and usage to rows,
// rows to the Prometheus text format. Tables of cases, then the output read
// back by a strict parser of the format (./promtext.ts): every line valid,
// every value where it belongs, label values escaped and restored exactly.
// And --listen's HOST:PORT (src/svctl/metrics/server.ts parseListen).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Usage } from '../../../src/os/usage.js';
import { EXIT_USAGE } from '../../../src/defaults.js';
import type { SvError } from '../../../src/errors.js';
import { blankStatus } from '../../../src/supervise/status.js';
import {
  escapeLabelValue,
  FAMILIES,
  formatValue,
  type MetricsRow,
  metricsRow,
  metricsText,
} from '../../../src/svctl/metrics/prometheus.js';
import { parseListen } from '../../../src/svctl/metrics/server.js';
import type { ShownStatus } from '../../../src/svctl/engine/observe.js';
import { parsePromText } from './promtext.js';
import { STATES } from '../../../src/vocabulary.js';

const shown = (o: Partial<ShownStatus> & Record<string, unknown> = {}): ShownStatus => ({
  ...blankStatus('web', 'longrun'),
  supervised: true,
  leftovers: null,
  ...o,
});

const row = (o: Partial<MetricsRow> = {}): MetricsRow => ({
  service: 'web',
  state: 'up',
  restarts: 0,
  startTimeSeconds: null,
  memoryBytes: null,
  cpuSeconds: null,
  oomKills: null,
  healthy: null,
  ...o,
});

const USAGE: Usage = { memoryBytes: 4096, cpuSeconds: 1.25, pids: 3, oomKills: 0 };

describe('metricsRow: what status.json and the cgroup say, unknown left null', () => {
  const up = { state: 'up' as const, pid: 42, startedAt: '2026-11-23T10:00:00.500Z', restarts: 2 };
  it.each<[string, ShownStatus, Usage | null, Partial<MetricsRow>]>([
    [
      'up, with a cgroup',
      shown(up),
      USAGE,
      {
        state: 'up',
        restarts: 2,
        startTimeSeconds: Date.UTC(2026, 10, 23, 10, 0, 0, 500) / 1000,
        memoryBytes: 4096,
        cpuSeconds: 1.25,
        oomKills: 0,
        healthy: null,
      },
    ],
    [
      'never supervised',
      shown({ supervised: false }),
      null,
      { state: 'down', restarts: 0, startTimeSeconds: null, memoryBytes: null, cpuSeconds: null, oomKills: null },
    ],
    ['no process: no start time, even if one was recorded', shown({ ...up, pid: null }), null, { startTimeSeconds: null }],
    [
      'a cgroup without the memory controller',
      shown(up),
      { memoryBytes: null, cpuSeconds: 0.5, pids: null, oomKills: null },
      { memoryBytes: null, cpuSeconds: 0.5, oomKills: null },
    ],
    ['health ok', shown({ ...up, health: { ok: true, failures: 0, lastCheckAt: '2026-11-23T10:00:01.000Z' } }), null, { healthy: true }],
    [
      'health failing',
      shown({ ...up, health: { ok: false, failures: 2, lastCheckAt: '2026-11-23T10:00:01.000Z' } }),
      null,
      { healthy: false },
    ],
    ['health null (no health-interval)', shown({ ...up, health: null }), null, { healthy: null }],
    // status.json is untrusted: what is not what it should be is unknown, not a number made up
    ['a state svkit does not know', shown({ state: 'exploded' as never }), null, { state: null }],
    ['restarts not a count', shown({ restarts: -1 }), null, { restarts: null }],
    ['restarts a fraction', shown({ restarts: 1.5 }), null, { restarts: null }],
    ['restarts a string', shown({ restarts: '3' as never }), null, { restarts: null }],
    ['startedAt not a time', shown({ ...up, startedAt: 'yesterday' }), null, { startTimeSeconds: null }],
    ['health of the wrong shape', shown({ health: 'yes' as never }), null, { healthy: null }],
    ['health.ok not a boolean', shown({ health: { ok: 1 } as never }), null, { healthy: null }],
    [
      'usage of the wrong kind',
      shown(),
      { memoryBytes: -5, cpuSeconds: NaN, pids: null, oomKills: Infinity },
      { memoryBytes: null, cpuSeconds: null, oomKills: null },
    ],
  ])('%s', (_name, status, usage, expected) => {
    expect(metricsRow(status, usage)).toMatchObject({ service: 'web', ...expected });
  });
});

describe('escaping and values', () => {
  it.each([
    ['web', 'web'],
    ['worker@a"b', 'worker@a\\"b'],
    ['back\\slash', 'back\\\\slash'],
    ['two\nlines', 'two\\nlines'],
    ['\\"\n', '\\\\\\"\\n'],
    ['tab\tand ü', 'tab\tand ü'], // only backslash, quote and newline are escaped
  ])('label value %j -> %j', (raw, escaped) => {
    expect(escapeLabelValue(raw)).toBe(escaped);
  });

  it.each<[number, string]>([
    [0, '0'],
    [42, '42'],
    [1.25, '1.25'],
    [1795435200.5, '1795435200.5'],
    [1e-7, '1e-7'],
    [2 ** 60, '1152921504606847000'], // the shortest text that reads back as the same double
    [1e21, '1e+21'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('value %d -> %s', (n, text) => {
    expect(formatValue(n)).toBe(text);
  });
});

describe('metricsText', () => {
  it('one service up with a cgroup: exactly these lines', () => {
    const text = metricsText([
      row({ restarts: 1, startTimeSeconds: 1795435200.5, memoryBytes: 4096, cpuSeconds: 1.25, oomKills: 0, healthy: true }),
    ]);
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples).toEqual([
      'svkit_up{service="web"} 1',
      ...STATES.map((s) => `svkit_state{service="web",state="${s}"} ${s === 'up' ? 1 : 0}`),
      'svkit_restarts_total{service="web"} 1',
      'svkit_start_time_seconds{service="web"} 1795435200.5',
      'svkit_memory_bytes{service="web"} 4096',
      'svkit_cpu_seconds_total{service="web"} 1.25',
      'svkit_oom_kills_total{service="web"} 0',
      'svkit_healthy{service="web"} 1',
    ]);
    expect(text).toMatch(/^# HELP svkit_up .+\n# TYPE svkit_up gauge\nsvkit_up\{service="web"\} 1\n# HELP svkit_state /);
  });

  it('unknown values are left out, not shown as 0; HELP and TYPE stay for every family', () => {
    const text = metricsText([row({ state: 'down' })]);
    const names = (text.match(/^svkit_[a-z_]+/gm) ?? []).filter((n, i, a) => a.indexOf(n) === i);
    expect(names).toEqual(['svkit_up', 'svkit_state', 'svkit_restarts_total']);
    expect(text).toContain('svkit_up{service="web"} 0\n');
    for (const f of FAMILIES) expect(text).toContain(`# TYPE ${f.name} ${f.type}\n`);
  });

  it('a state svkit does not know: svkit_up 0 and no svkit_state series at all', () => {
    const text = metricsText([row({ state: null })]);
    expect(text).toContain('svkit_up{service="web"} 0\n');
    expect(text).not.toMatch(/^svkit_state/m);
  });

  it('no services: HELP and TYPE lines only, still valid', () => {
    const families = parsePromText(metricsText([]));
    expect([...families.keys()]).toEqual(FAMILIES.map((f) => f.name));
    for (const f of families.values()) expect(f.samples).toEqual([]);
  });

  it('counters are named _total, gauges are not; each family has one HELP and one TYPE', () => {
    for (const f of FAMILIES) expect(f.name.endsWith('_total')).toBe(f.type === 'counter');
  });
});

describe('the output read back by a strict parser of the text format', () => {
  const services = ['web', 'worker@a"b', 'back\\slash', 'two\nlines', 'db.main', 'x@1'];
  const rows = services.map((service, i) =>
    row({
      service,
      state: STATES[i % STATES.length]!,
      restarts: i,
      startTimeSeconds: i % 2 ? 1795435200 + i / 4 : null,
      memoryBytes: i % 3 ? 1024 * i : null,
      cpuSeconds: i % 3 ? i / 3 : null,
      oomKills: i % 3 ? i : null,
      healthy: i % 2 ? i % 4 === 1 : null,
    }),
  );

  it('every line parses, every value is where it belongs, every label value comes back as it was', () => {
    const families = parsePromText(metricsText(rows));
    expect([...families.keys()]).toEqual(FAMILIES.map((f) => f.name));
    for (const f of FAMILIES) {
      const parsed = families.get(f.name)!;
      expect(parsed.type).toBe(f.type);
      expect(parsed.help).toBe(f.help);
    }
    const value = (name: string, service: string, state?: string) =>
      families
        .get(name)!
        .samples.filter((s) => s.labels.service === service && (state === undefined || s.labels.state === state))
        .map((s) => s.value);
    rows.forEach((r) => {
      expect(value('svkit_up', r.service)).toEqual([r.state === 'up' ? 1 : 0]);
      for (const s of STATES) expect(value('svkit_state', r.service, s)).toEqual([r.state === s ? 1 : 0]);
      expect(value('svkit_restarts_total', r.service)).toEqual([r.restarts]);
      expect(value('svkit_start_time_seconds', r.service)).toEqual(r.startTimeSeconds === null ? [] : [r.startTimeSeconds]);
      expect(value('svkit_memory_bytes', r.service)).toEqual(r.memoryBytes === null ? [] : [r.memoryBytes]);
      expect(value('svkit_cpu_seconds_total', r.service)).toEqual(r.cpuSeconds === null ? [] : [r.cpuSeconds]);
      expect(value('svkit_oom_kills_total', r.service)).toEqual(r.oomKills === null ? [] : [r.oomKills]);
      expect(value('svkit_healthy', r.service)).toEqual(r.healthy === null ? [] : [r.healthy ? 1 : 0]);
    });
    // each sample is labelled service (svkit_state also state), nothing else
    for (const f of families.values()) {
      for (const s of f.samples) expect(Object.keys(s.labels)).toEqual(f.name === 'svkit_state' ? ['service', 'state'] : ['service']);
    }
  });

  it('the parser refuses what the format forbids (it would catch a formatting mistake)', () => {
    const ok = '# TYPE a gauge\na{service="x"} 1\n';
    expect(() => parsePromText(ok)).not.toThrow();
    for (const bad of [
      'a{service="x"} 1', // no final newline
      '# TYPE a gauge\na{service="x\\t"} 1\n', // an escape the format does not have
      '# TYPE a gauge\na{service="x"y"} 1\n', // an unescaped quote
      '# TYPE a gauge\na{service="two\nlines"} 1\n', // a raw newline
      '# TYPE a gauge\na{service="x"} one\n',
      '# TYPE a gauge\na{service="x"} 1\na{service="x"} 2\n', // a series twice
      '# TYPE a gauge\n# TYPE b gauge\na{service="x"} 1\nb{service="x"} 1\na{service="y"} 1\n', // interleaved
      '# TYPE a gauge\n# TYPE a counter\n',
      '# TYPE 1a gauge\n',
      '# TYPE a gauge\na{1service="x"} 1\n',
    ]) {
      expect(() => parsePromText(bad), JSON.stringify(bad)).toThrow();
    }
  });

  it('any service name (any string) stays one valid series and comes back exactly', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'binary', maxLength: 12 }), { minLength: 1, maxLength: 5 }), (names) => {
        const families = parsePromText(metricsText(names.map((service) => row({ service }))));
        expect(families.get('svkit_up')!.samples.map((s) => s.labels.service)).toEqual(names);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseListen: --listen HOST:PORT', () => {
  it.each<[string, { host: string; port: number }]>([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
    ['metrics.example-1.org:80', { host: 'metrics.example-1.org', port: 80 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    ['[::]:9464', { host: '::', port: 9464 }],
  ])('%s', (text, expected) => {
    expect(parseListen(text)).toEqual(expected);
  });

  it.each([
    ['127.0.0.1', 'expected HOST:PORT'], // no port
    [':9464', 'expected a host before the port'],
    ['127.0.0.1:65536', 'expected a port from 0 to 65535'],
    ['127.0.0.1:099999', 'expected a port from 0 to 65535'],
    ['127.0.0.1:http', 'expected HOST:PORT'],
    ['127.0.0.1:-1', 'expected HOST:PORT'],
    ['::1:9464', 'expected HOST:PORT'], // IPv6 needs brackets
    ['[localhost]:9464', 'not an IP address or host name'],
    ['[]:9464', 'expected a host before the port'],
    ['a b:9464', 'not an IP address or host name'],
    ['-x:9464', 'not an IP address or host name'],
    ['host\n:9464', 'not an IP address or host name'],
    ['', 'expected HOST:PORT'],
  ])('%j: %s', (text, why) => {
    let thrown: unknown;
    try {
      parseListen(text);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ exitCode: EXIT_USAGE, lines: [expect.stringMatching(new RegExp(`^--listen: ${why}.*, got ".*"$`))] });
    expect((thrown as SvError).lines[0]).not.toContain('\n'); // one line whatever was given
  });
});
