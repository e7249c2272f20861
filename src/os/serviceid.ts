// A service's identity: `svkit-NAME-HASH`, HASH from the real path of the
// service folder. It names the service's cgroup in every hierarchy and is
// $SVKIT_SERVICE_ID in the environment of everything svrun starts for it, so
// a process (or cgroup) can be proven to be this service's by what svkit
// put there. It depends on the service folder alone: whatever is at
// supervise/ (a folder swapped, a symlink planted, $SVKIT_STATE_DIR) changes
// nothing, and the same name in two scan directories is two services.
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { sha1Hex } from './sha1.js';

const realPath = (dir: string): string => {
  try {
    return realpathSync(dir);
  } catch {
    return resolve(dir);
  }
};

export const serviceId = (name: string, serviceDir: string): string =>
  `svkit-${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${sha1Hex(realPath(serviceDir)).slice(0, 10)}`;
