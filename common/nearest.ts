// "Did you mean ...?" for misspelt keys and values: the closest candidate by edit distance.

/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[t.length]!;
}

/**
 * The candidates `word` most plausibly misspells, best first, or none when none is close: the
 * candidates the word begins (at least 3 letters: 'numa' -> 'numactl'), shortest first, else
 * those at the smallest edit distance if that is at most a third of the word's length (2 edits
 * at least).
 */
export function nearestAll(word: string, candidates: readonly string[]): string[] {
  const lower = word.toLowerCase();
  if (lower.length >= 3) {
    const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(lower) && c.length > word.length);
    if (prefixed.length > 0) return [...prefixed].sort((a, b) => a.length - b.length);
  }
  const scored = candidates.map((c) => ({ c, d: editDistance(word, c) }));
  const best = Math.min(...scored.map((x) => x.d));
  return best <= Math.max(2, Math.floor(word.length / 3)) ? scored.filter((x) => x.d === best).map((x) => x.c) : [];
}

/** The one candidate `word` most plausibly misspells (nearestAll's first), or undefined. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  return nearestAll(word, candidates)[0];
}
