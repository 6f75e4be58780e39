import { median, medianAbsoluteDeviation } from '../../common/stats.js';

// How far one host's figure lies from its cohort's, robustly: the median and the median absolute
// deviation (MAD) of the cohort's figures, which one or two odd hosts cannot drag the way they
// drag a mean and a standard deviation.
//
//   robust z = (x - median) / (MAD_TO_SIGMA x MAD)
//
// MAD_TO_SIGMA = 1.4826 (1 / the normal distribution's 75th percentile, 0.6745) makes the MAD
// estimate the standard deviation when the figures are normal, so a robust z reads like a z-score;
// this is Iglewicz and Hoaglin's modified z-score, for which they advise 3.5 as the outlier limit.
//
// What is not judged, and why, rather than guessed:
// - fewer than MIN_HOSTS (3) figures: with two hosts nothing says which of them is the odd one;
// - MAD = 0: more than half the hosts measured the same figure, so the cohort has no spread to
//   scale a score by (every other host would be infinitely far off).
// A tight cohort (a MAD of 0.2 %) gives a large z to a difference too small to matter, so a host
// is slow or fast only when it is also at least `minChange` away from the median, relatively.

export const MAD_TO_SIGMA = 1.4826;
export const DEFAULT_THRESHOLD = 3.5;
export const DEFAULT_MIN_CHANGE = 0.05;
export const MIN_HOSTS = 3;

export type Standing = 'slow' | 'fast' | 'in line';

export type RobustScores =
  | { judged: true; median: number; mad: number; z: number[] }
  | { judged: false; median: number | null; mad: number | null; why: string };

export function robustScores(values: readonly number[]): RobustScores {
  if (values.length < MIN_HOSTS) {
    return {
      judged: false,
      median: values.length ? median(values) : null,
      mad: values.length ? medianAbsoluteDeviation(values) : null,
      why: `${values.length} host${values.length === 1 ? '' : 's'} measured it; a robust score needs ${MIN_HOSTS} or more`,
    };
  }
  const m = median(values);
  const mad = medianAbsoluteDeviation(values);
  if (mad === 0) return { judged: false, median: m, mad, why: 'MAD is 0 (more than half the hosts measured the same figure): no spread to score against' };
  return { judged: true, median: m, mad, z: values.map((x) => (x - m) / (MAD_TO_SIGMA * mad)) };
}

/** Slow or fast needs both: beyond the robust z threshold and at least minChange from the median. */
export function standing(value: number, z: number, cohortMedian: number, threshold = DEFAULT_THRESHOLD, minChange = DEFAULT_MIN_CHANGE): Standing {
  const ratio = value / cohortMedian;
  if (z < -threshold && ratio < 1 - minChange) return 'slow';
  if (z > threshold && ratio > 1 + minChange) return 'fast';
  return 'in line';
}
