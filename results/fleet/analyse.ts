import { median } from '../../common/stats.js';
import type { Store } from '../store/store.js';
import { describeCohort, groupCohorts, type Cohort, type CohortKey } from './cohorts.js';
import { configurationOutliers, type ConfigurationFindings } from './configuration.js';
import { fleetMembers, type FleetFilter, type FleetMember } from './members.js';
import { numaSymmetry, type NumaSymmetry } from './numa-symmetry.js';
import { DEFAULT_MIN_CHANGE, MAD_TO_SIGMA, MIN_HOSTS, robustScores, type Standing } from './robust-score.js';
import { benjaminiHochberg, DEFAULT_FDR, normalLowerTail, stouffer } from './false-discovery.js';

// `sweep fleet`: which hosts are out of line with their peers. Each host's newest ended sweep (completed, or failed with some points failed)
// of the experiment (members.ts); hosts grouped into cohorts of the same hardware (cohorts.ts);
// per cohort and point key, the hosts ranked by throughput with a robust score against the
// cohort (robust-score.ts); configuration that differs from the cohort's majority
// (configuration.ts); and each host's NUMA symmetry (numa-symmetry.ts).
//
// A host is slow when the fleet-wide false-discovery rule names it (false-discovery.ts: its
// points' robust z combined into one score, one p-value per host, Benjamini-Hochberg over every
// judged host of the fleet at rate --fdr) and at least one of its judged points lies --min-change
// or more under its cohort's median; those points are its slow points. Fast likewise, the other way.
//
// A host is an outlier, and the command exits 1, when it is slow, differs
// from its cohort's majority in any configuration field, is alone in its cohort only by its
// memory (the same hardware as a larger cohort, memory beyond the tolerance: a missing or failed
// DIMM, which would otherwise leave it with no peers and no verdict), or has a NUMA node slower
// than its others beyond the imbalance limit. A host fast beyond the threshold is reported, not failed: it
// may be the better-configured machine, and its peers' figures say nothing is wrong with it.
// Suspect and failed points are not ranked (their figures do not measure the machine alone).
// With no outlier and no throughput judged anywhere (every point suspect, or fewer than 3 hosts
// per cohort), the fleet has no verdict: exit 3, inconclusive, as compare's is.

export interface FleetOptions extends FleetFilter {
  /** The false discovery rate over the fleet's hosts (false-discovery.ts); default 0.01. */
  fdr?: number;
  /** Smallest relative distance from the cohort median that counts; default 0.05. */
  minChange?: number;
  /** Largest shortfall of a NUMA node against the host's fastest node (the sweep's own limit). */
  maxImbalance: number;
}

export interface RankedHost {
  hostname: string;
  throughput_ips: number;
  /** throughput / the cohort median for this point. */
  ratio: number;
  /** Null where the point cannot be judged. */
  z: number | null;
  standing: Standing | null;
}

export interface PointRanking {
  key: string;
  median: number | null;
  mad: number | null;
  judged: boolean;
  /** Why it was not judged. */
  why: string | null;
  /** Fastest first. */
  ranked: RankedHost[];
  notRanked: { hostname: string; why: string }[];
}

export interface HostSummary {
  hostname: string;
  sweep: { id: number; uid: string | null; started_at: string };
  /** Points with a figure that entered the ranking, and those of them that could be judged. */
  pointsRanked: number;
  pointsJudged: number;
  /** Median over judged points of throughput / cohort median. */
  medianRatio: number | null;
  /** The judged point with the lowest robust z. */
  worst: { key: string; ratio: number; z: number } | null;
  /** Stouffer's combination of its judged points' robust z (false-discovery.ts); null when none is judged. */
  combinedZ: number | null;
  /** One-sided p-values of combinedZ: how often a host in line scores this low (slow) or high (fast). */
  pSlow: number | null;
  pFast: number | null;
  slowPoints: string[];
  fastPoints: string[];
  verdict: Standing | 'cannot judge';
}

export interface CohortAnalysis {
  name: string;
  description: string;
  key: CohortKey;
  memory_mb: { min: number | null; max: number | null };
  hosts: string[];
  summaries: HostSummary[];
  points: PointRanking[];
  configuration: ConfigurationFindings;
}

export type OutlierKind = 'slow' | 'configuration' | 'numa' | 'fast';

export interface FleetOutlier {
  hostname: string;
  cohort: string;
  kind: OutlierKind;
  reason: string;
}

export interface FleetAnalysis {
  experiment: string;
  filter: FleetFilter;
  rule: { fdr: number; minChange: number; madToSigma: number; minHosts: number; maxImbalance: number; text: string };
  /**
   * Hosts tested (those with a judged point), and the expected number of false outliers among the
   * slow hosts named: at most fdr x named (Benjamini-Hochberg's bound).
   */
  falseDiscovery: { hostsTested: number; slowNamed: number; expectedFalseSlow: number; fastNamed: number; expectedFalseFast: number };
  cohorts: CohortAnalysis[];
  numa: NumaSymmetry[];
  /** Slow, configuration and NUMA outliers: each fails (exit 1). */
  outliers: FleetOutlier[];
  /** Fast hosts: reported, not failing. */
  fast: FleetOutlier[];
  /** 1 an outlier; 3 none, but no throughput could be judged (inconclusive); 0 none. */
  exitCode: 0 | 1 | 3;
}

export function analyseFleet(store: Store, opts: FleetOptions): FleetAnalysis {
  const { experiment, members } = fleetMembers(store, opts);
  return analyseMembers(experiment, members, opts);
}

/** The analysis of members already selected (tests and the report call it directly). */
export function analyseMembers(experiment: string, members: readonly FleetMember[], opts: FleetOptions): FleetAnalysis {
  const fdr = opts.fdr ?? DEFAULT_FDR;
  const minChange = opts.minChange ?? DEFAULT_MIN_CHANGE;
  const grouped = groupCohorts(members).map((c) => {
    const points = rankPoints(c);
    return { c, points, byHost: rankingsByHost(points) };
  });
  // One p-value per host with a judged point, over the whole fleet, and one decision over them all.
  const tested = grouped.flatMap(({ c, byHost }) =>
    c.members.map((m) => {
      const z = (byHost.get(m.hostname) ?? []).filter((x) => x.r.z !== null).map((x) => x.r.z!);
      return { hostname: m.hostname, combined: z.length ? stouffer(z) : null };
    }),
  ).filter((h): h is { hostname: string; combined: number } => h.combined !== null);
  const slowFound = benjaminiHochberg(tested.map((h) => normalLowerTail(h.combined)), fdr).found;
  const fastFound = benjaminiHochberg(tested.map((h) => normalLowerTail(-h.combined)), fdr).found;
  const discovered = new Map(tested.map((h, i) => [h.hostname, { slow: slowFound.has(i), fast: fastFound.has(i), combined: h.combined }]));
  const cohorts = grouped.map(({ c, points, byHost }) => analyseCohort(c, points, byHost, discovered, minChange));
  const numa = members.map((m) => numaSymmetry(m, opts.maxImbalance));
  const cohortOf = new Map(cohorts.flatMap((c) => c.hosts.map((h) => [h, c.name] as const)));
  const outliers: FleetOutlier[] = [];
  const fast: FleetOutlier[] = [];
  for (const c of cohorts) {
    for (const s of c.summaries) {
      if (s.slowPoints.length) outliers.push({ hostname: s.hostname, cohort: c.name, kind: 'slow', reason: speedReason(c, s, 'slow') });
      if (s.fastPoints.length) fast.push({ hostname: s.hostname, cohort: c.name, kind: 'fast', reason: speedReason(c, s, 'fast') });
    }
    for (const o of c.configuration.outliers) {
      outliers.push({
        hostname: o.hostname,
        cohort: c.name,
        kind: 'configuration',
        reason: `configuration: ${o.field} ${JSON.stringify(o.value)} where ${o.majorityHosts} of the ${o.exposingHosts} hosts of cohort ${c.name} that expose it have ${JSON.stringify(o.majority)}`,
      });
    }
  }
  for (const o of memoryOutliers(cohorts)) outliers.push(o);
  for (const n of numa) {
    const byNode = new Map<string, typeof n.slow>();
    for (const s of n.slow) byNode.set(s.node, [...(byNode.get(s.node) ?? []), s]);
    for (const [node, slow] of byNode) {
      const worst = slow.reduce((a, b) => (b.ratio < a.ratio ? b : a));
      outliers.push({
        hostname: n.hostname,
        cohort: cohortOf.get(n.hostname)!,
        kind: 'numa',
        reason:
          `NUMA symmetry: node ${node} slower than its fastest node by more than ${pct(opts.maxImbalance)} on ${slow.length} of ${n.judgedPoints} points with one instance per node ` +
          `(worst ${worst.key}: ${worst.ips.toFixed(1)} of ${worst.fastestIps.toFixed(1)} img/s, ${worst.ratio.toFixed(2)}x)`,
      });
    }
  }
  const rank = (o: FleetOutlier) => [o.hostname, o.kind].join('\u0000');
  outliers.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
  return {
    experiment,
    filter: { tag: opts.tag, experiment: opts.experiment, since: opts.since },
    rule: {
      fdr,
      minChange,
      madToSigma: MAD_TO_SIGMA,
      minHosts: MIN_HOSTS,
      maxImbalance: opts.maxImbalance,
      text:
        `robust z = (throughput - cohort median) / (${MAD_TO_SIGMA} x MAD), per point over the cohort's hosts; a host's points combined as ` +
        `Z = sum(z) / sqrt(points), its p-value from the normal distribution, Benjamini-Hochberg over the fleet's ${tested.length} judged hosts at ` +
        `false discovery rate ${fdr}; a host so found is slow on its points at least ${pct(minChange)} under the median (fast likewise, reported, ` +
        `not failing); a point measured by fewer than ${MIN_HOSTS} hosts or with MAD 0 cannot be judged; suspect and failed points are not ranked`,
    },
    falseDiscovery: falseDiscoveryOf(cohorts, tested.length, fdr),
    cohorts,
    numa,
    outliers,
    fast,
    exitCode: outliers.length ? 1 : cohorts.some((c) => c.points.some((p) => p.judged)) ? 0 : 3,
  };
}

/**
 * Hosts alone in their cohort whose hardware equals a larger cohort's in everything but memory:
 * named against the largest such cohort. Two or more hosts sharing a memory size are taken to be
 * a memory configuration of their own, not a fault.
 */
function memoryOutliers(cohorts: readonly CohortAnalysis[]): FleetOutlier[] {
  const gib = (mb: number | null) => (mb === null ? 'unknown' : `${Math.round(mb / 1024)} GiB`);
  const range = (m: CohortAnalysis['memory_mb']) => (gib(m.min) === gib(m.max) ? gib(m.min) : `${gib(m.min)} to ${gib(m.max)}`);
  const out: FleetOutlier[] = [];
  for (const alone of cohorts.filter((c) => c.hosts.length === 1)) {
    const key = JSON.stringify(alone.key);
    const peers = cohorts.filter((c) => c !== alone && c.hosts.length > 1 && JSON.stringify(c.key) === key).sort((a, b) => b.hosts.length - a.hosts.length)[0];
    if (!peers) continue;
    out.push({
      hostname: alone.hosts[0]!,
      cohort: alone.name,
      kind: 'configuration',
      reason:
        `memory: ${gib(alone.memory_mb.min)} where the ${peers.hosts.length} hosts of cohort ${peers.name}, the same hardware otherwise, have ${range(peers.memory_mb)} ` +
        `(a missing or failed DIMM?); alone in its cohort, its throughput has no peers to be judged against`,
    });
  }
  return out;
}

function falseDiscoveryOf(cohorts: readonly CohortAnalysis[], hostsTested: number, fdr: number): FleetAnalysis['falseDiscovery'] {
  const all = cohorts.flatMap((c) => c.summaries);
  const slowNamed = all.filter((s) => s.verdict === 'slow').length;
  const fastNamed = all.filter((s) => s.verdict === 'fast').length;
  return { hostsTested, slowNamed, expectedFalseSlow: fdr * slowNamed, fastNamed, expectedFalseFast: fdr * fastNamed };
}

function rankPoints(c: Cohort): PointRanking[] {
  const keys = [...new Set(c.members.flatMap((m) => m.points.map((p) => p.key)))];
  return keys.map((key) => rankPoint(c.members, key));
}

type Discovered = ReadonlyMap<string, { slow: boolean; fast: boolean; combined: number }>;
type HostRankings = ReadonlyMap<string, { key: string; r: RankedHost }[]>;

/** Each host's place in every point's ranking: one pass, not one search per host (5,000 hosts). */
function rankingsByHost(points: readonly PointRanking[]): HostRankings {
  const out = new Map<string, { key: string; r: RankedHost }[]>();
  for (const p of points) for (const r of p.ranked) out.set(r.hostname, [...(out.get(r.hostname) ?? []), { key: p.key, r }]);
  return out;
}

function analyseCohort(c: Cohort, points: PointRanking[], byHost: HostRankings, discovered: Discovered, minChange: number): CohortAnalysis {
  const summaries = c.members.map((m) => summarise(m, byHost.get(m.hostname) ?? [], discovered.get(m.hostname), minChange));
  return {
    name: c.name,
    description: describeCohort(c),
    key: c.key,
    memory_mb: c.memory_mb,
    hosts: c.members.map((m) => m.hostname),
    summaries,
    points,
    configuration: configurationOutliers(c.members),
  };
}

function rankPoint(members: readonly FleetMember[], key: string): PointRanking {
  const figures: { hostname: string; ips: number }[] = [];
  const notRanked: { hostname: string; why: string }[] = [];
  for (const m of members) {
    const p = m.points.find((pt) => pt.key === key);
    if (!p) notRanked.push({ hostname: m.hostname, why: 'not measured (skipped on this host, or not in its sweep)' });
    else if (p.status !== 'ok' || p.throughput_ips === null) notRanked.push({ hostname: m.hostname, why: `failed: ${p.error ?? 'no throughput'}` });
    else if (p.suspect_reasons.length) notRanked.push({ hostname: m.hostname, why: `suspect: ${p.suspect_reasons.join('; ')}` });
    else figures.push({ hostname: m.hostname, ips: p.throughput_ips });
  }
  const scores = robustScores(figures.map((f) => f.ips));
  const ranked: RankedHost[] = figures.map((f, i) => ({
    hostname: f.hostname,
    throughput_ips: f.ips,
    ratio: scores.median ? f.ips / scores.median : NaN,
    z: scores.judged ? scores.z[i]! : null,
    // Set once the fleet-wide decision is made (summarise).
    standing: scores.judged ? 'in line' : null,
  }));
  ranked.sort((a, b) => b.throughput_ips - a.throughput_ips);
  return { key, median: scores.median, mad: scores.mad, judged: scores.judged, why: scores.judged ? null : scores.why, ranked, notRanked };
}

function summarise(m: FleetMember, mine: readonly { key: string; r: RankedHost }[], found: { slow: boolean; fast: boolean; combined: number } | undefined, minChange: number): HostSummary {
  const judged = mine.filter((x) => x.r.z !== null);
  const worst = judged.reduce<{ key: string; ratio: number; z: number } | null>(
    (w, x) => (w === null || x.r.z! < w.z ? { key: x.key, ratio: x.r.ratio, z: x.r.z! } : w),
    null,
  );
  // A host the fleet-wide rule found is slow (fast) on the points at least minChange from the median.
  const slow = found?.slow ? judged.filter((x) => x.r.ratio < 1 - minChange) : [];
  const fastOnes = found?.fast ? judged.filter((x) => x.r.ratio > 1 + minChange) : [];
  for (const x of slow) x.r.standing = 'slow';
  for (const x of fastOnes) x.r.standing = 'fast';
  const slowPoints = slow.map((x) => x.key);
  const fastPoints = fastOnes.map((x) => x.key);
  const combined = found?.combined ?? null;
  return {
    hostname: m.hostname,
    sweep: { id: m.sweep.id, uid: m.sweepUid, started_at: m.sweep.started_at },
    pointsRanked: mine.length,
    pointsJudged: judged.length,
    medianRatio: judged.length ? median(judged.map((x) => x.r.ratio)) : null,
    worst,
    combinedZ: combined,
    pSlow: combined === null ? null : normalLowerTail(combined),
    pFast: combined === null ? null : normalLowerTail(-combined),
    slowPoints,
    fastPoints,
    verdict: judged.length === 0 ? 'cannot judge' : slowPoints.length ? 'slow' : fastPoints.length ? 'fast' : 'in line',
  };
}

function speedReason(c: CohortAnalysis, s: HostSummary, which: 'slow' | 'fast'): string {
  const keys = which === 'slow' ? s.slowPoints : s.fastPoints;
  const pick = (key: string) => {
    const p = c.points.find((pt) => pt.key === key)!;
    return { p, r: p.ranked.find((r) => r.hostname === s.hostname)! };
  };
  // The most extreme of its slow (or fast) points.
  const extreme = keys.map(pick).reduce((a, b) => ((which === 'slow' ? b.r.z! < a.r.z! : b.r.z! > a.r.z!) ? b : a));
  return (
    `${which} on ${keys.length} of its ${s.pointsJudged} judged points against cohort ${c.name} (${c.hosts.length} hosts), combined Z ${s.combinedZ!.toFixed(1)} ` +
    `(p ${pText(which === 'slow' ? s.pSlow! : s.pFast!)}); ` +
    `${which === 'slow' ? 'worst' : 'most'} ${extreme.p.key}: ${extreme.r.throughput_ips.toFixed(1)} img/s, ${extreme.r.ratio.toFixed(2)}x the median ` +
    `of ${extreme.p.ranked.length} hosts (${extreme.p.median!.toFixed(1)}), robust z ${extreme.r.z!.toFixed(1)}`
  );
}

/** A p-value in words; one below what a double holds is said so rather than printed as 0. */
const pText = (p: number) => (p === 0 ? '< 1e-300' : p.toExponential(1));

const pct = (f: number) => `${Math.round(f * 1000) / 10} %`;
