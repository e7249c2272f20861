// The environment of what svrun starts for a service: svrun's own, env/
// applied, and the variables the client library reads (src/client/index.ts).
import type { Identity } from '../os/identity.js';
import type { ServiceDef } from '../servicedir.js';

/** The service's environment: svrun's own, env/ applied, and what the client library reads. */
export const serviceEnv = (def: ServiceDef, identity: Identity | null): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // sockets of svrun's own (socket-activated svrun) are not the service's: run gets its own (src/supervisor/sockets.ts)
  for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) delete env[k];
  if (identity) {
    env.HOME = identity.home;
    env.USER = identity.name;
    env.LOGNAME = identity.name;
  }
  for (const [k, v] of Object.entries(def.env)) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  env.SVKIT_SERVICE = def.name;
  env.SVKIT_DOWN_SIGNAL = def.downSignal;
  env.SVKIT_TIMEOUT_KILL = String(def.timeoutKillMs);
  if (def.instance !== null) env.SVKIT_INSTANCE = def.instance;
  if (def.notificationFd !== null) env.SVKIT_NOTIFY_FD = String(def.notificationFd);
  else delete env.SVKIT_NOTIFY_FD;
  // the client library sends heartbeats every third of it (src/client/index.ts)
  if (def.watchdogMs !== null) env.SVKIT_WATCHDOG_MS = String(def.watchdogMs);
  else delete env.SVKIT_WATCHDOG_MS;
  return env;
};
