// What the docs tell users to type, read back out of them: the code in a
// Markdown file, and every `svctl` invocation in a text, so tests can check
// each against svctl's own help (a doc never names a command that is not).

/** The code of a Markdown text: fenced blocks, indented blocks and inline code spans, one string each. */
export const markdownCode = (md: string): string[] => {
  const code: string[] = [];
  let fence: string[] | null = null;
  for (const line of md.split('\n')) {
    if (line.startsWith('```')) {
      if (fence) code.push(fence.join('\n'));
      fence = fence ? null : [];
    } else if (fence) fence.push(line);
    else if (line.startsWith('    ')) code.push(line);
    else for (const m of line.matchAll(/(`+)(.+?)\1/g)) code.push(m[2]!);
  }
  return code;
};

/** A fenced block of `lang` in a Markdown text, as written; throws when there is not exactly one. */
export const fencedBlock = (md: string, lang: string): string => {
  const blocks = [...md.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]!);
  if (blocks.length !== 1) throw new Error(`expected one \`\`\`${lang} block, found ${blocks.length}`);
  return blocks[0]!;
};

/** Words that end an invocation in a shell line. */
const SHELL_END = new Set(['|', '||', '&&', ';', '&', '#', ')', '>', '2>', '<']);

/**
 * Every `svctl` invocation in a piece of code (shell lines, a Dockerfile's
 * JSON arrays, YAML flow sequences): its words after `svctl`, up to the end
 * of the shell command (or `--`, after which the words are CMD's).
 */
export const svctlInvocations = (code: string): string[][] => {
  const found: string[][] = [];
  for (const line of code.split('\n')) {
    // comments say things about svctl; ["svctl", "boot", "--"] and svctl boot -- read the same
    const words = line
      .replace(/(^|\s)(#|\/\/).*$/, '')
      .replace(/[[\]",]/g, ' ')
      .split(/\s+/)
      .filter(Boolean);
    words.forEach((w, i) => {
      if (w !== 'svctl' && !/\/svctl(\.js)?$/.test(w)) return;
      const args: string[] = [];
      for (const a of words.slice(i + 1)) {
        if (SHELL_END.has(a) || a === '--' || /^[`'(]/.test(a)) break;
        args.push(a.replace(/[`;)]+$/, ''));
        if (/[`;)]$/.test(a)) break;
      }
      found.push(args);
    });
  }
  return found;
};

/** svctl's global options that take a value (the first word that is not one, or an option, is the command). */
const GLOBAL_WITH_VALUE = new Set(['-d', '--dir', '-t', '--timeout']);

/** A word that stands for any command (`svctl COMMAND`, `svctl up/down/...`), not a command. */
const placeholder = (word: string): boolean => /^[A-Z]+$/.test(word) || word.includes('/');

/** An invocation's command and the options it uses (`--listen=X` as `--listen`); null without a command (or with a placeholder). */
export const commandAndOptions = (args: string[]): { command: string; options: string[] } | null => {
  const options: string[] = [];
  let command: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('-')) {
      options.push(a.split('=')[0]!);
      if (command === null && GLOBAL_WITH_VALUE.has(a)) i += 1;
    } else if (command === null) command = a;
  }
  return command === null || placeholder(command) ? null : { command, options };
};

/** The commands and the options (short and long) a commander help page lists. */
export const helpListing = (help: string): { commands: Set<string>; options: Set<string> } => {
  const commands = new Set<string>();
  const options = new Set<string>();
  let section = '';
  for (const line of help.split('\n')) {
    if (/^\S.*:$/.test(line)) section = line;
    const entry = /^ {2}(\S.*?)(?: {2,}|$)/.exec(line)?.[1];
    if (!entry) continue;
    if (section === 'Commands:') commands.add(entry.split(' ')[0]!);
    if (section === 'Options:') for (const o of entry.matchAll(/(--?[\w-]+)/g)) options.add(o[1]!);
  }
  return { commands, options };
};
