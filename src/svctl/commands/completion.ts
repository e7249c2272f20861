// `svctl completion bash|zsh`: a completion script made from the program
// commander runs (its commands, their options and arguments), so a command
// added there is completed without anyone remembering to. Service names are
// read from the scan directory when Tab is pressed (-d/--dir on the line,
// else $SVDIR, else ./services), by the shell itself: a folder listing, no
// node process started per key press. Templates (`worker@`) are left out.
import type { Command } from 'commander';
import { EXIT_OK, EXIT_USAGE } from '../../defaults.js';
import { RELAYED_SIGNALS } from '../../supervise/control.js';
import { SvError } from '../../errors.js';
import type { Ctx } from '../context.js';
import { WAIT_STATES } from './wait.js';

export const SHELLS = ['bash', 'zsh'] as const;

/** What a positional argument is completed with, by its name in the command's usage. */
export type ArgKind = 'services' | 'words' | 'files';

export interface CompletedCommand {
  name: string;
  /** Its own options and the global ones (long and short forms). */
  options: string[];
  /** Each positional argument in order; the last one repeats when variadic. */
  args: { kind: ArgKind; words: string[] }[];
}

export interface CompletionModel {
  commands: CompletedCommand[];
  globalOptions: string[];
  /** Options followed by a value (the value is not a command or a name). */
  valueOptions: string[];
}

/** The words an argument named `name` takes; services and files are looked up when completing. */
const argOf = (name: string): { kind: ArgKind; words: string[] } => {
  if (name === 'NAME' || name === 'NAME@INST') return { kind: 'services', words: [] };
  if (name === 'SIG') return { kind: 'words', words: RELAYED_SIGNALS.map((s) => s.slice(3)) };
  if (name === 'STATE') return { kind: 'words', words: [...WAIT_STATES] };
  if (name === 'SHELL') return { kind: 'words', words: [...SHELLS] };
  return { kind: 'files', words: [] }; // boot's CMD...
};

const flags = (cmd: Command): string[] => cmd.options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));

/** The model of `program`: every command commander knows (and `help`), as the user types them. */
export const completionModel = (program: Command): CompletionModel => {
  const globalOptions = [...flags(program), '-h', '--help'];
  const commands = program.commands.map((c) => ({
    name: c.name(),
    options: [...flags(c), '-h', '--help'],
    args: c.registeredArguments.map((a) => argOf(a.name())),
  }));
  commands.push({ name: 'help', options: [], args: [{ kind: 'words', words: program.commands.map((c) => c.name()) }] });
  const valueOptions = [program, ...program.commands].flatMap((c) =>
    c.options.filter((o) => o.required || o.optional).flatMap((o) => [o.short, o.long].filter((f): f is string => !!f)),
  );
  return { commands, globalOptions, valueOptions };
};

const words = (list: readonly string[]): string => list.join(' ');

/** The shell `case` arms saying, per command, its options and its arguments' kinds and words. */
const caseArms = (m: CompletionModel, indent: string, arm: (c: CompletedCommand) => string): string =>
  m.commands.map((c) => `${indent}${c.name}) ${arm(c)} ;;`).join('\n');

const argTable = (c: CompletedCommand): string =>
  `kinds=(${c.args.map((a) => a.kind).join(' ')}); argwords=(${c.args.map((a) => `'${words(a.words)}'`).join(' ')}); variadic=${c.args.length > 0 ? 1 : 0}`;

export const bashScript = (m: CompletionModel): string => `# svctl completion for bash; load it with: source <(svctl completion bash)
# Made by \`svctl completion bash\` from svctl's own command table (docs/svctl.md).

# the scan directory's services (not templates), read when Tab is pressed
_svctl_services() {
  local dir="\${SVDIR:-./services}" i d n
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      -d|--dir) dir="\${COMP_WORDS[i+1]}" ;;
      --dir=*) dir="\${COMP_WORDS[i]#--dir=}" ;;
    esac
  done
  for d in "$dir"/*/; do
    n="\${d%/}"; n="\${n##*/}"
    [[ -d "$d" && "$n" != *@ && "$n" =~ ^[A-Za-z0-9][A-Za-z0-9._@-]*$ ]] && printf '%s\\n' "$n"
  done
}

_svctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="" nargs=0 i w opts kinds=() argwords=() variadic=0
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --) [[ -n "$cmd" ]] && return 0 ;;  # boot's CMD: the shell's default completion
      ${m.valueOptions.join('|')}) ((i++)) ;;
      -*) ;;
      *) if [[ -z "$cmd" ]]; then cmd="$w"; else ((nargs++)); fi ;;
    esac
  done
  case "$prev" in
    -d|--dir) COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
    ${m.valueOptions.filter((o) => o !== '-d' && o !== '--dir').join('|')}) return 0 ;;
  esac
  if [[ -z "$cmd" ]]; then
    if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "${words(m.globalOptions)}" -- "$cur"))
    else COMPREPLY=($(compgen -W "${words(m.commands.map((c) => c.name))}" -- "$cur")); fi
    return 0
  fi
  case "$cmd" in
${caseArms(m, '    ', (c) => `opts="${words(c.options)}"; ${argTable(c)}`)}
    *) return 0 ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts ${words(m.globalOptions)}" -- "$cur"))
    return 0
  fi
  ((\${#kinds[@]} == 0)) && return 0
  i=$nargs
  if ((i >= \${#kinds[@]})); then ((variadic)) || return 0; i=$((\${#kinds[@]} - 1)); fi
  case "\${kinds[i]}" in
    services) COMPREPLY=($(compgen -W "$(_svctl_services)" -- "$cur")) ;;
    words) COMPREPLY=($(compgen -W "\${argwords[i]}" -- "$cur")) ;;
    files) COMPREPLY=($(compgen -c -- "$cur")) ;;
  esac
}

complete -F _svctl svctl
`;

export const zshScript = (m: CompletionModel): string => `#compdef svctl
# svctl completion for zsh; load it with: source <(svctl completion zsh)
# (after compinit), or save it as _svctl in a folder of $fpath.
# Made by \`svctl completion zsh\` from svctl's own command table (docs/svctl.md).

# the scan directory's services (not templates), read when Tab is pressed
_svctl_services() {
  local dir="\${SVDIR:-./services}" i d n
  for ((i = 2; i < CURRENT; i++)); do
    case "\${words[i]}" in
      (-d|--dir) dir="\${words[i+1]}" ;;
      (--dir=*) dir="\${words[i]#--dir=}" ;;
    esac
  done
  for d in "$dir"/*(N/); do
    n="\${d:t}"
    [[ "$n" != *@ && "$n" =~ '^[A-Za-z0-9][A-Za-z0-9._@-]*$' ]] && print -r -- "$n"
  done
}

_svctl() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}"
  local cmd="" nargs=0 i w opts variadic=0
  local -a kinds argwords
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    case "$w" in
      (--) [[ -n "$cmd" ]] && { _normal; return } ;;
      (${m.valueOptions.join('|')}) ((i++)) ;;
      (-*) ;;
      (*) if [[ -z "$cmd" ]]; then cmd="$w"; else ((nargs++)); fi ;;
    esac
  done
  case "$prev" in
    (-d|--dir) _files -/; return ;;
    (${m.valueOptions.filter((o) => o !== '-d' && o !== '--dir').join('|')}) return ;;
  esac
  if [[ -z "$cmd" ]]; then
    if [[ "$cur" == -* ]]; then compadd -- ${words(m.globalOptions)}
    else compadd -- ${words(m.commands.map((c) => c.name))}; fi
    return
  fi
  case "$cmd" in
${caseArms(m, '    (', (c) => `opts="${words(c.options)}"; ${argTable(c)}`)}
    (*) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    compadd -- \${=opts} ${words(m.globalOptions)}
    return
  fi
  (( \${#kinds} == 0 )) && return
  i=$((nargs + 1))
  if ((i > \${#kinds})); then ((variadic)) || return; i=\${#kinds}; fi
  case "\${kinds[i]}" in
    (services) compadd -- \${(f)"$(_svctl_services)"} ;;
    (words) compadd -- \${=argwords[i]} ;;
    (files) _normal ;;
  esac
}

# autoloaded from $fpath: complete now; sourced: register (compdef exists once compinit ran)
if [[ "\${funcstack[1]}" == _svctl ]]; then _svctl "$@"; elif (( $+functions[compdef] )); then compdef _svctl svctl; fi
`;

/** completion bash|zsh: prints the script; another shell is a usage error. */
export const cmdCompletion = (ctx: Ctx, shell: string, program: Command): number => {
  const m = completionModel(program);
  if (shell === 'bash') ctx.out(bashScript(m).replace(/\n$/, ''));
  else if (shell === 'zsh') ctx.out(zshScript(m).replace(/\n$/, ''));
  else throw new SvError('svkit.usage', EXIT_USAGE, `completion: expected ${SHELLS.join(' or ')}, got "${shell}"`);
  return EXIT_OK;
};
