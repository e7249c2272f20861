#!/usr/bin/env node
// svctl: bring the services of a scan directory up and down (see docs/svctl.md).
import { oneLine } from '../src/errors.js';
import { svctl } from '../src/svctl/cli.js';

svctl(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`svctl: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    process.exit(1);
  },
);
