// `npm run build` (and `prepare`, so `npm install` of a checkout or a git URL):
// dist/ from the TypeScript sources without a type check, which is
// `npm run check`'s (once, over src/ and test/ together; `npm test` runs it).
// 1. esbuild strips the types of src/ and bench/ file by file into dist/
//    (each .ts beside where tsc would emit it: the client library, the
//    benchmarks, and what the tests load of dist/src);
// 2. tsc emits the client library's declarations (dist/src/client/index.d.ts,
//    package.json `exports.types`): it imports nothing of svkit, so this
//    program is one file and Node's types;
// 3. scripts/bundle.mjs bundles the two programs into dist/cmd/.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** Every .ts file under `dir` (recursively), or none where `dir` is absent (a partial copy, as a Docker stage has). */
const sources = (dir) => {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
      .map((e) => join(e.parentPath ?? e.path, e.name));
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
};

rmSync('dist', { recursive: true, force: true });

await build({
  entryPoints: [...sources('src'), ...sources('bench')],
  outdir: 'dist',
  outbase: '.',
  bundle: false,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
});

const client = ts.createProgram(['src/client/index.ts'], {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  declaration: true,
  emitDeclarationOnly: true,
  skipLibCheck: true,
  types: ['node'],
  rootDir: '.',
  outDir: 'dist',
});
const emitted = client.emit();
const problems = [...ts.getPreEmitDiagnostics(client), ...emitted.diagnostics];
if (problems.length > 0) {
  process.stderr.write(ts.formatDiagnostics(problems, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' }));
  process.exit(1);
}

await import('./bundle.mjs');
