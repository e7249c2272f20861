#!/usr/bin/env node
// svctl: placeholder until the svctl issue lands.
process.stderr.write('svctl: not implemented yet\n');
process.exit(2);
