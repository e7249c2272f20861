// A strict parser of the Prometheus text exposition format 0.0.4, written
// from the format's description (prometheus.io/docs/instrumenting/exposition_formats),
// for the tests of `svctl metrics`: every line must be a HELP, TYPE, comment,
// blank or sample line; names and label names must be valid; label values may
// hold only the escapes \\ \" \n; a family's samples must follow its TYPE
// line and never be interleaved with another family's; no series twice.
// Throws on the first violation, naming the line.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string | null;
  type: string | null;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const parseValue = (text: string, where: string): number => {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!FLOAT.test(text)) throw new Error(`${where}: not a float: ${JSON.stringify(text)}`);
  return Number(text);
};

/** `{a="x",b="y"}` from position `i` (at the `{`); returns the labels and the position after `}`. */
const parseLabels = (line: string, i: number, where: string): { labels: Record<string, string>; end: number } => {
  const labels: Record<string, string> = {};
  i++; // {
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without "="`);
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: invalid label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (line[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = line[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = line[j + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new Error(`${where}: invalid escape \\${e ?? ''} in a label value`);
        j += 2;
      } else {
        value += c;
        j++;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`${where}: expected "," or "}" after a label`);
  }
  return { labels, end: i + 1 };
};

export const parsePromText = (text: string): Map<string, Family> => {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the last line does not end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: string | null = null; // the family whose samples may follow
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, help: null, type: null, samples: [] }));
    return f;
  };
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, n) => {
    const where = `line ${n + 1} ${JSON.stringify(line)}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string?];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: invalid metric name`);
      const f = family(name);
      if (kind === 'HELP') {
        if (f.help !== null) throw new Error(`${where}: second HELP for ${name}`);
        if (/\\[^\\n]|\\$/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: invalid escape in HELP`);
        f.help = rest.replace(/\\(\\|n)/g, (_m, e: string) => (e === 'n' ? '\n' : '\\'));
      } else {
        if (f.type !== null) throw new Error(`${where}: second TYPE for ${name}`);
        if (f.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        if (!TYPES.has(rest.trim())) throw new Error(`${where}: unknown type`);
        f.type = rest.trim();
      }
      current = name;
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd < 1) throw new Error(`${where}: not a sample line`);
    const name = line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) throw new Error(`${where}: invalid metric name`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i, where));
    if (line[i] !== ' ') throw new Error(`${where}: no value`);
    const fields = line.slice(i + 1).split(' ');
    if (fields.length < 1 || fields.length > 2) throw new Error(`${where}: expected a value and at most a timestamp`);
    const value = parseValue(fields[0]!, where);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) throw new Error(`${where}: invalid timestamp`);
    if (current !== name && families.has(name)) throw new Error(`${where}: samples of ${name} interleaved with another family`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`${where}: the same series twice`);
    seen.add(key);
    family(name).samples.push({ name, labels, value });
    current = name;
  });
  return families;
};
