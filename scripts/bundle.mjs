// Bundles each entry point (cmd/svrun.ts, cmd/svctl.ts) with what it imports,
// svkit's modules and its dependencies, into one file (dist/cmd/svrun.cjs,
// dist/cmd/svctl.js and its second half): start-up then reads and compiles
// one file instead of resolving and loading dozens of ES modules, once per
// service (see docs/performance.md). The rest of dist/ is scripts/build.mjs's
// (the client library stays a module of its own), which runs this last.
import { build } from 'esbuild';

/** What both bundles share. */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // koffi is a native addon loaded on demand through createRequire: it stays in node_modules
  external: ['koffi'],
  // a smaller text to parse and keep for lazy compilation: about 0.7 MiB less
  // per svrun; identifiers stay, so a stack trace still names the functions
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

// svctl: two ES modules. svctl.js holds what `svctl status` and `check` run
// (the quick path, src/svctl/fastpath.ts) and loads ./svctl-cli.js
// (cmd/svctl-cli.ts: commander with every command) only for the rest. An ES
// module's imports, Node built-ins included, all load before it runs: in one
// file, status loaded commander, child_process, http, crypto's and stream's
// modules... for nothing. esbuild's code splitting would not do: the modules
// status shares with the other commands carry all their imports into the
// shared part, where a bundle of its own drops what status does not use.
// svctl-cli.js has its own copy of the modules both use.
const svctlOptions = {
  ...common,
  outdir: 'dist/cmd',
  format: 'esm',
  // the CommonJS dependencies (commander, proper-lockfile) require node: built-ins
  banner: { js: "import { createRequire as __svkitRequire } from 'node:module'; const require = __svkitRequire(import.meta.url);" },
};
const cliApart = {
  name: 'svctl-cli-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\/svctl-cli\.js$/ }, () => ({ path: './svctl-cli.js', external: true }));
  },
};
await build({ ...svctlOptions, entryPoints: ['cmd/svctl.ts'], plugins: [cliApart] });
await build({ ...svctlOptions, entryPoints: ['cmd/svctl-cli.ts'] });

// svrun, which runs once per service: measured per svrun in docs/performance.md
await build({
  ...common,
  entryPoints: ['cmd/svrun.ts'],
  // CommonJS, hence .cjs in this "type": "module" package: Node then loads one
  // script without its ES module loader (about 0.3 MiB of live heap less per svrun)
  outfile: 'dist/cmd/svrun.cjs',
  format: 'cjs',
  // strict as the ES modules were (the banner comes before esbuild's own 'use strict');
  // import.meta.url (koffi's createRequire, src/programs.ts) from the file's own path
  banner: { js: "'use strict'; const __svkitImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__svkitImportMetaUrl' },
  // proper-lockfile (svrun's lock) uses graceful-fs only as its `fs`; graceful-fs
  // patches the process's fs and loads fs/promises, streams and readline at
  // start-up to queue opens on EMFILE, which svrun (a handful of descriptors,
  // its own descriptor check, src/os/fds.ts) does not need: plain node:fs
  alias: { 'graceful-fs': 'node:fs' },
});
