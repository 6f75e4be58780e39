import type { FleetMember } from './members.js';

// A host's own NUMA symmetry: on a point with one instance bound to each NUMA node, every node
// should deliver the same images/s (the point's balance, orchestrator/launch/balance.ts, stores
// each node's throughput over the common window). A node slower than the fastest by more than
// `maxImbalance` (the sweep's own limit, 10 % unless the sweep was told otherwise; the limit a sweep
// ran with is not stored, so the fleet applies the one it is given) points at that node's memory
// or CPUs: a missing DIMM, a wrong sub-NUMA setting. Suspect points are not judged.

export interface SlowNode {
  key: string;
  node: string;
  ips: number;
  fastestIps: number;
  /** ips / fastestIps. */
  ratio: number;
}

export interface NumaSymmetry {
  hostname: string;
  /** Points with one instance per node, not suspect: what the symmetry was judged on. */
  judgedPoints: number;
  /** Such points left out because they are suspect. */
  suspectPoints: number;
  slow: SlowNode[];
}

export function numaSymmetry(m: FleetMember, maxImbalance: number): NumaSymmetry {
  const result: NumaSymmetry = { hostname: m.hostname, judgedPoints: 0, suspectPoints: 0, slow: [] };
  for (const p of m.points) {
    if (p.status !== 'ok' || !p.balance) continue;
    const nodes = Object.entries(p.balance.node_ips);
    // node_ips counts instances bound to one node alone: one key per instance = one instance per node.
    if (nodes.length < 2 || nodes.length !== p.params.instances) continue;
    if (p.suspect_reasons.length) {
      result.suspectPoints++;
      continue;
    }
    result.judgedPoints++;
    const fastest = Math.max(...nodes.map(([, ips]) => ips));
    for (const [node, ips] of nodes) {
      if (fastest > 0 && ips < (1 - maxImbalance) * fastest) result.slow.push({ key: p.key, node, ips, fastestIps: fastest, ratio: ips / fastest });
    }
  }
  return result;
}
