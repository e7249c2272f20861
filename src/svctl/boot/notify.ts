// svctl boot under systemd (`Type=notify`, docs/boot.md): READY=1 once
// every service is up, STOPPING=1 when the shutdown begins. The variable is
// taken out of the environment first, so no supervisor or service started
// by boot sees it (systemd would refuse their messages, or worse, believe
// them). A failure to notify is said once; boot runs on.
import { sdNotify } from '../../os/sdnotify.js';

export type Notify = (state: string) => void;

export const systemdNotifier = (env: NodeJS.ProcessEnv, say: (line: string) => void): Notify => {
  const socket = env.NOTIFY_SOCKET;
  delete env.NOTIFY_SOCKET;
  if (!socket) return () => {};
  let told = false;
  return (state) => {
    const why = sdNotify(socket, state);
    if (why !== null && !told) {
      told = true;
      say(`boot: ${why}`);
    }
  };
};
