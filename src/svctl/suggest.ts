// "Did you mean ...?" for a mistyped command. commander's own rule (edit
// distance up to 2 whenever 40% of the word survives) suggests `logs` for
// `bogus`: an unrelated word is answered with a guess. Here a guess must be
// one typo away (a letter added, dropped, changed, or two swapped), or two
// for a word of six letters or more, where two slips are still recognisable.

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours, each 1. */
export const editDistance = (a: string, b: string): number => {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
};

/** How many typos a word of this length may hold and still be recognised. */
export const maxTypos = (word: string): number => (word.length >= 6 ? 2 : 1);

/** The candidates closest to `word` within maxTypos (several on a tie, in their order); [] when none is close. */
export const closest = (word: string, candidates: readonly string[]): string[] => {
  let best = maxTypos(word);
  let found: string[] = [];
  for (const c of new Set(candidates)) {
    const dist = editDistance(word, c);
    if (dist > best) continue;
    if (dist < best || found.length === 0) [best, found] = [dist, [c]];
    else if (dist === best) found.push(c);
  }
  return found;
};

/** svctl's line for an unknown command: `unknown command 'stauts' (did you mean status?)`, or without a guess. */
export const unknownCommandText = (word: string, commands: readonly string[]): string => {
  const near = closest(word, commands);
  const guess = near.length === 0 ? '' : ` (did you mean ${near.length === 1 ? near[0] : `one of ${near.join(', ')}`}?)`;
  return `unknown command '${word}'${guess}`;
};
