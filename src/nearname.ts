// "Did you mean ...?": how close a word is to the names it may have meant.
// A guess must be one typo away (a letter added, dropped, changed, or two
// swapped), or two for a word of six letters or more, where two slips are
// still recognisable; an unrelated word gets none. Used for mistyped
// commands (src/svctl/suggest.ts) and settings files (src/settings.ts).

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

/** The one wording of a guess: ` (did you mean status?)`, ` (did you mean one of a, b?)`, or nothing. */
export const didYouMean = (near: readonly string[]): string =>
  near.length === 0 ? '' : ` (did you mean ${near.length === 1 ? near[0] : `one of ${near.join(', ')}`}?)`;
