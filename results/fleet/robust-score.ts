import { median, medianAbsoluteDeviation } from '../../common/stats.js';

// How far one host's figure lies from its cohort's, robustly: the median and the median absolute
// deviation (MAD) of the cohort's figures, which one or two odd hosts cannot drag the way they
// drag a mean and a standard deviation.
//
//   robust z = (x - median) / (MAD_TO_SIGMA x MAD)
//
// MAD_TO_SIGMA = 1.4826 (1 / the normal distribution's 75th percentile, 0.6745) makes the MAD
// estimate the standard deviation when the figures are normal, so a robust z reads like a z-score
// (Iglewicz and Hoaglin's modified z-score). Which hosts are slow is not decided here, point by
// point against a fixed limit (3.5 judged on 15,000 host-points passes about 3.5 of them by
// chance), but once over the fleet (false-discovery.ts).
//
// What is not judged, and why, rather than guessed:
// - fewer than MIN_HOSTS (3) figures: with two hosts nothing says which of them is the odd one;
// - MAD = 0: more than half the hosts measured the same figure, so the cohort has no spread to
//   scale a score by (every other host would be infinitely far off).
// A tight cohort (a MAD of 0.2 %) gives a large z to a difference too small to matter, so a host
// is slow or fast only on points at least `minChange` away from the median, relatively.

export const MAD_TO_SIGMA = 1.4826;
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
