// "Did you mean ...?" for a mistyped command. commander's own rule (edit
// distance up to 2 whenever 40% of the word survives) suggests `logs` for
// `bogus`: an unrelated word is answered with a guess. svkit's rule is
// stricter (src/nearname.ts).
import { closest, didYouMean } from '../nearname.js';

export { closest, editDistance, maxTypos } from '../nearname.js';

/** svctl's line for an unknown command: `unknown command 'stauts' (did you mean status?)`, or without a guess. */
export const unknownCommandText = (word: string, commands: readonly string[]): string =>
  `unknown command '${word}'${didYouMean(closest(word, commands))}`;
