// Bundles each entry point (cmd/svrun.ts, cmd/svctl.ts) with what it imports,
// svkit's modules and its dependencies, into one file that replaces tsc's
// dist/cmd/svrun.js and dist/cmd/svctl.js: start-up then reads and compiles
// one file instead of resolving and loading dozens of ES modules, once per
// service (see docs/performance.md). tsc still type-checks and emits the rest
// of dist/ (the client library stays as tsc emits it). Run after `tsc -p .`.
import { build } from 'esbuild';

await build({
  entryPoints: ['cmd/svrun.ts', 'cmd/svctl.ts'],
  outdir: 'dist/cmd',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // koffi is a native addon loaded on demand through createRequire: it stays in node_modules
  external: ['koffi'],
  // the CommonJS dependencies (commander, proper-lockfile) require node: built-ins
  banner: { js: "import { createRequire as __svkitRequire } from 'node:module'; const require = __svkitRequire(import.meta.url);" },
  // a smaller text to parse and keep for lazy compilation: about 0.7 MiB less
  // per svrun; identifiers stay, so a stack trace still names the functions
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
