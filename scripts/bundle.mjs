// Bundles each entry point (cmd/svrun.ts, cmd/svctl.ts) with what it imports,
// svkit's modules and its dependencies, into one file (svctl: two, below) that replaces tsc's
// dist/cmd/svrun.js and dist/cmd/svctl.js: start-up then reads and compiles
// one file instead of resolving and loading dozens of ES modules, once per
// service (see docs/performance.md). tsc still type-checks and emits the rest
// of dist/ (the client library stays as tsc emits it). Run after `tsc -p .`.
import { build } from 'esbuild';

await build({
  entryPoints: ['cmd/svrun.ts'],
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

// svctl: two files, built apart from svrun with settings of their own. svctl.js
// holds what `svctl status` and `check` run (the quick path,
// src/svctl/quick.ts) and loads ./svctl-cli.js (cmd/svctl-cli.ts: commander
// with every command) only for the rest. An ES module's imports, Node
// built-ins included, all load before it runs: in one file, status loaded
// commander, child_process, http, crypto's and stream's modules... for
// nothing. esbuild's code splitting would not do: the modules status shares
// with the other commands carry all their imports into the shared part,
// where a bundle of its own drops what status does not use. svctl-cli.js has
// its own copy of the modules both use.
const svctlOptions = {
  outdir: 'dist/cmd',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi'],
  banner: { js: "import { createRequire as __svkitRequire } from 'node:module'; const require = __svkitRequire(import.meta.url);" },
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};
const cliApart = {
  name: 'svctl-cli-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\/svctl-cli\.js$/ }, () => ({ path: './svctl-cli.js', external: true }));
  },
};
await build({ ...svctlOptions, entryPoints: ['cmd/svctl.ts'], plugins: [cliApart] });
await build({ ...svctlOptions, entryPoints: ['cmd/svctl-cli.ts'] });
