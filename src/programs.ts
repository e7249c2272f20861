// Where svkit's own files are, found from the running code. This module sits
// one folder below dist/ both as tsc emits it (dist/src/programs.js) and bundled
// into an entry point (dist/cmd/svctl.js or svctl-cli.js, see scripts/bundle.mjs), so the same
// relative paths hold in either layout.
import { fileURLToPath } from 'node:url';

/** The supervisor svctl starts: dist/cmd/svrun.cjs (a CommonJS bundle, see scripts/bundle.mjs). */
export const SVRUN_JS = fileURLToPath(new URL('../cmd/svrun.cjs', import.meta.url));

/** svkit's package.json (for `svctl --version`). */
export const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));
