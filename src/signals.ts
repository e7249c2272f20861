// Signal names as users write them (TERM, SIGTERM) and as status.json reports
// them ("SIGKILL"), mapped through Node's own table.
import { constants } from 'node:os';

const NUMBERS = constants.signals as Record<string, number>;

/** The down-signals docs/services.md allows. */
export const DOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const;
export type DownSignal = (typeof DOWN_SIGNALS)[number];

/** `TERM` or `SIGTERM` (any case) to `SIGTERM`, or null when unknown. */
export const normalizeSignal = (text: string): NodeJS.Signals | null => {
  const upper = text.trim().toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return name in NUMBERS ? (name as NodeJS.Signals) : null;
};

export const parseDownSignal = (text: string): DownSignal | null => {
  const name = normalizeSignal(text);
  return (DOWN_SIGNALS as readonly string[]).includes(name ?? '') ? (name as DownSignal) : null;
};

export const signalNumber = (name: NodeJS.Signals): number => NUMBERS[name] ?? 0;

/** The shell's exit status of a process that ended: its code, or 128+N when signal N killed it. */
export const exitStatus = (code: number | null, signal: NodeJS.Signals | null): number => code ?? 128 + (signal ? signalNumber(signal) : 0);

export const signalName = (num: number): NodeJS.Signals | null =>
  (Object.keys(NUMBERS).find((k) => NUMBERS[k] === num) as NodeJS.Signals | undefined) ?? null;
