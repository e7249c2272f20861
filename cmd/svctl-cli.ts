// svctl's commands through commander: the part of svctl that cmd/svctl.ts
// loads for anything but its quick path (status and check, src/svctl/fastpath.ts).
// A file of its own so that the quick path loads none of it (scripts/bundle.mjs);
// it brings its own `failure`, so an error from here is told apart by its own classes.
export { svctl } from '../src/svctl/cli.js';
export { failure } from '../src/errors.js';
