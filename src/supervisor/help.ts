// svrun's usage line and help page, in one place: `svrun --help` prints the
// page, a usage error quotes the line (src/supervisor/svrun.ts). Plain text,
// no CLI framework: svrun runs once per service and stays lean.
import { CHECK_INTERVAL_MS, DEFAULT_TIMEOUT_KILL_MS, EXIT_FAILED, EXIT_INVALID, EXIT_LOCKED, EXIT_OK, EXIT_USAGE } from '../defaults.js';

export const USAGE = 'usage: svrun [--log file|stdout] [--log-width N] [--want up|once|down] DIR...';

export const HELP = `${USAGE}

Supervise the service defined in the folder DIR, in the foreground:
check its files, take its lock, stop what a killed predecessor left running,
start run and keep it in the wanted state (restarts with backoff) until a
request or a signal ends it. In a terminal, the log lines are shown too,
Ctrl-C stops the service and exits, Ctrl-Z pauses both. Several DIRs: one
process supervises each service as a lone svrun would (its own lock, status,
control FIFO, log and task reaper) and exits once none is left; a refused
DIR is its own lines on stderr, the others are supervised.

Options:
  --log file       (default) the built-in logger writes DIR/log/current:
                   "<ISO time> out|err|svrun <text>"
  --log stdout     the same lines without the time, "NAME | " before each,
                   on svrun's stdout (what svctl boot uses)
  --log-width N    with --log stdout: pad the name to N characters
  --log-color      with --log stdout: colour the name, terminal or not
  --want up        (default) start the service, restart it by its policy
  --want once      start it once, never restart it
  --want down      supervise without starting: wait for u or o on
                   supervise/control
  -h, --help       show this help

The service folder (every file: docs/services.md):
  run              the service, executable (required); stdin /dev/null,
                   stdout and stderr pipes to the log
  finish           run after each exit of run: ./finish EXITCODE SIGNO
  type             longrun (default) or oneshot (stop undoes a oneshot)
  restart          always (default), on-failure or never
  check            readiness: run every ${CHECK_INTERVAL_MS} ms until it exits 0
  notification-fd  readiness: the service writes a line to this fd
  down-signal      signal that stops it (default TERM), then after
  timeout-kill     this many ms (default ${DEFAULT_TIMEOUT_KILL_MS}) SIGKILL to its group
  env/             one file per environment variable
  user             USER or USER:GROUP to run as (svrun as root)
  log/run          a logger of your own, reading the service's output
  listen           addresses svrun binds and holds; run gets them as fds
                   3, 4, ... (LISTEN_FDS, LISTEN_PID: systemd's protocol)
svrun keeps supervise/status.json, supervise/pid, supervise/control (a FIFO:
u up, d down, o once, x stop and exit, l reload the folder, t h i q 1 2 a w
p c k signals) and log/current.

Exit codes:
  ${EXIT_OK}    stopped on request (x, SIGTERM, SIGINT, SIGHUP, SIGQUIT); a oneshot
       is up (or down, with --want down). Several DIRs: the highest code
       of the services supervised; if none was, why (100 or 111)
  ${EXIT_FAILED}    a oneshot failed
  ${EXIT_USAGE}    usage error
  ${EXIT_LOCKED}  the service is already supervised (by the pid named)
  ${EXIT_INVALID}  invalid service definition, DIR missing, too few file descriptors

Environment:
  SVKIT_STATE_DIR  keep supervise/ and log/ in $SVKIT_STATE_DIR/NAME/
                   (read-only service folders)
  SVKIT_NO_CGROUP  set: no cgroup for the service, process groups only
  NO_COLOR         set: no colour in --log stdout's names
  PATH             where setpriv, prlimit and mkfifo are found
The service inherits svrun's environment, then env/.

See docs/svrun.md.
`;
