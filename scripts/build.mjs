// `npm run build` (and `prepare`, so `npm install` of a checkout or a git URL):
// dist/ from the TypeScript sources without a type check, which is
// `npm run check`'s (once, over src/ and test/ together; `npm test` runs it).
// 1. esbuild strips the types of src/ and bench/ file by file into dist/
//    (each .ts beside where tsc would emit it: the client library, the
//    benchmarks, and what the tests load of dist/src);
// 2. TypeScript writes the client library's declarations (dist/src/client/index.d.ts,
//    package.json `exports.types`) from its one file (it imports nothing of svkit);
// 3. scripts/bundle.mjs bundles the two programs into dist/cmd/.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// the declarations from the file alone (isolatedDeclarations: its exports say their types), no program to check
const clientFile = 'src/client/index.ts';
const declared = ts.transpileDeclaration(readFileSync(clientFile, 'utf8'), {
  fileName: clientFile,
  reportDiagnostics: true,
  compilerOptions: {
    isolatedDeclarations: true,
    declaration: true,
    strict: true,
    module: ts.ModuleKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
  },
});
if (declared.diagnostics?.length) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnostics(declared.diagnostics, host));
  process.exit(1);
}
writeFileSync('dist/src/client/index.d.ts', declared.outputText);

await import('./bundle.mjs');
