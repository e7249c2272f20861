// A Dockerfile's stages run as written, without Docker (none on the machines
// the tests run on): a folder stands for each stage's file system, COPY
// copies exactly what it names (from the build context, less what the
// .dockerignore excludes, or from an earlier stage's folder) and RUN runs its
// line with sh in the WORKDIR. The image's /tmp is the stage folder's tmp/
// (a private mount for the RUN line, so the stage folders themselves must
// not be under /tmp): the only absolute path a RUN line may name. Anything else Docker would do (FROM's base image, ENV, USER...) is
// left to the caller; an instruction this runner cannot honour throws.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';

export interface Instruction {
  /** FROM, COPY, RUN... as written (upper case). */
  keyword: string;
  /** The rest of the line, continuation lines joined. */
  args: string;
  /** The instruction as written, for messages. */
  text: string;
}

/** The instructions of a Dockerfile: comments and blank lines dropped, `\` continuations joined. */
export const instructions = (dockerfile: string): Instruction[] => {
  const out: Instruction[] = [];
  let pending = '';
  for (const line of dockerfile.split('\n')) {
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const text = (pending + line).trim();
    pending = '';
    const [keyword, ...rest] = text.split(/\s+/);
    out.push({ keyword: keyword!.toUpperCase(), args: rest.join(' '), text });
  }
  return out;
};

/** The stages: each FROM begins one, named by its `AS NAME` (or its number). */
export const stages = (dockerfile: string): { name: string; from: string; steps: Instruction[] }[] => {
  const out: { name: string; from: string; steps: Instruction[] }[] = [];
  for (const i of instructions(dockerfile)) {
    if (i.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      if (!m) throw new Error(`cannot read: ${i.text}`);
      out.push({ name: m[2] ?? String(out.length), from: m[1]!, steps: [] });
    } else if (out.length > 0) out.at(-1)!.steps.push(i);
  }
  return out;
};

/** A .dockerignore's patterns as a test of a path relative to the context (`**`, `*`, `?`; no `!` exceptions). */
export const ignoreRules = (text: string): ((rel: string) => boolean) => {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const res = patterns.map((p) => {
    if (p.startsWith('!')) throw new Error(`.dockerignore: exceptions (${p}) are not supported here`);
    const body = p
      .replace(/^\/+|\/+$/g, '')
      .split('/')
      .map((part) =>
        part === '**'
          ? '(?:.*/)?'
          : `${part
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]')}/`,
      );
    // a pattern that names a folder excludes what is in it
    return new RegExp(`^${body.join('').replace(/\/$/, '')}(?:/.*)?$`);
  });
  return (rel) => res.some((re) => re.test(rel));
};

export interface StageRun {
  /** The build context (the repository's root). */
  context: string;
  /** Paths relative to the context that COPY leaves out (the .dockerignore). */
  ignored: (rel: string) => boolean;
  /** The folder standing for each earlier stage's file system, by name (COPY --from). */
  roots: Map<string, string>;
  /** The environment of RUN lines. */
  env: NodeJS.ProcessEnv;
  /** How long one RUN line may take. */
  runMs: number;
}

/** The folder at `path` (absolute, or relative to WORKDIR `workdir`) in the file system at `root`. */
const inImage = (root: string, workdir: string, path: string): string => join(root, isAbsolute(path) ? path : join(workdir, path));

/** COPY [--from=STAGE] SRC... DEST, as Docker does it: a folder's contents, a file into DEST/ (or as DEST). */
const copy = (step: Instruction, root: string, workdir: string, run: StageRun): void => {
  const words = step.args.split(/\s+/);
  const from = words[0]!.startsWith('--from=') ? words.shift()!.slice('--from='.length) : null;
  if (words.some((w) => w.startsWith('--')) || words.length < 2) throw new Error(`not supported here: ${step.text}`);
  const dest = words.pop()!;
  const base = from === null ? run.context : run.roots.get(from);
  if (base === undefined) throw new Error(`${step.text}: no stage ${from} before it`);
  for (const src of words) {
    const source = join(base, src);
    const rel = relative(base, source);
    if (rel.startsWith('..') || (from === null && run.ignored(rel)))
      throw new Error(`${step.text}: ${src} is outside the build context or ignored`);
    if (!existsSync(source)) throw new Error(`${step.text}: ${src}: no such file or folder`);
    const target = inImage(root, workdir, dest);
    const isDir = statSync(source).isDirectory();
    const to = isDir || !(dest.endsWith('/') || words.length > 1) ? target : join(target, basename(source));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(source, to, {
      recursive: true,
      filter: (p) => from !== null || !run.ignored(relative(run.context, p)),
    });
  }
};

/** RUN LINE (shell form) with sh in the WORKDIR; the image's /tmp is root/tmp. */
const runLine = (step: Instruction, root: string, workdir: string, run: StageRun): void => {
  if (step.args.startsWith('[')) throw new Error(`not supported here (exec form): ${step.text}`);
  const other = step.args.match(/(?<![\w.~-])\/(?!tmp\b)[\w.-]+/g);
  if (other) throw new Error(`${step.text}: only /tmp is mapped into the image here, not ${other.join(', ')}`);
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const cwd = inImage(root, workdir, '.');
  mkdirSync(cwd, { recursive: true });
  // a mount namespace of its own: /tmp is the image's for this line, the host's stays untouched
  const script = 'mount --bind "$1" /tmp && cd "$2" && exec sh -ec "$3"';
  const r = spawnSync('unshare', ['--mount', 'sh', '-c', script, 'sh', join(root, 'tmp'), cwd, step.args], {
    env: run.env,
    encoding: 'utf8',
    timeout: run.runMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
    // the end of what it said, stack frames left out
    const said = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '' && !/^\s+at /.test(l));
    throw new Error(`${step.text}: ${why}\n${said.slice(-30).join('\n')}`);
  }
};

/** Whether RUN lines can be run here: a mount namespace for the image's /tmp (root, or CAP_SYS_ADMIN). */
export const canRunStages = (): string | null => {
  const r = spawnSync('unshare', ['--mount', 'sh', '-c', 'mount -t tmpfs none /tmp'], { encoding: 'utf8' });
  return r.status === 0 ? null : `unshare --mount refused (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}): needs root`;
};

/**
 * Runs the WORKDIR, COPY and RUN instructions of `stage` into `root` (its
 * file system, empty at first), in order; throws at the first one that
 * fails, naming it. Returns the environment its ENV lines set.
 */
export const runStage = (stage: { name: string; steps: Instruction[] }, root: string, run: StageRun): Record<string, string> => {
  if (root === '/tmp' || root.startsWith('/tmp/')) throw new Error(`${root}: under /tmp, which RUN lines see as the image's`);
  let workdir = '/';
  const env: Record<string, string> = {};
  mkdirSync(root, { recursive: true });
  for (const step of stage.steps) {
    if (step.keyword === 'WORKDIR') {
      workdir = isAbsolute(step.args) ? step.args : join(workdir, step.args);
      mkdirSync(inImage(root, workdir, '.'), { recursive: true });
    } else if (step.keyword === 'COPY') copy(step, root, workdir, run);
    else if (step.keyword === 'RUN') runLine(step, root, workdir, run);
    else if (step.keyword === 'ENV') {
      for (const m of step.args.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
    } else if (['ADD', 'USER', 'ARG', 'SHELL', 'ONBUILD', 'VOLUME'].includes(step.keyword)) {
      throw new Error(`not supported here: ${step.text}`);
    }
    // EXPOSE, STOPSIGNAL, ENTRYPOINT, CMD, HEALTHCHECK, LABEL: how the image runs, for the caller
  }
  run.roots.set(stage.name, root);
  return env;
};

/** The .dockerignore Docker reads for `dockerfile` (DOCKERFILE.dockerignore beside it, else the context's). */
export const dockerignoreOf = (dockerfile: string, context: string): ((rel: string) => boolean) => {
  for (const f of [`${dockerfile}.dockerignore`, join(context, '.dockerignore')]) {
    if (existsSync(f)) return ignoreRules(readFileSync(f, 'utf8'));
  }
  return () => false;
};
