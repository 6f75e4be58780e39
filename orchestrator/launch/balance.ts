import type { PointBalance } from '../../results/types.js';

// How evenly a multi-instance point's instances worked: each instance's throughput over the
// common window (the mean over repeats), the slowest/fastest ratio, and the throughput per NUMA
// node (the instances bound to that node alone). Beyond the limit (default 10 %) the point gets a
// warning; with one instance per NUMA node, that is the host's NUMA symmetry check and the slow
// node is named (a missing DIMM, a wrong SNC/NPS setting).

export const DEFAULT_MAX_IMBALANCE = 0.1;

export interface BalanceInput {
  /** Per repeat, per instance (by index): images/s inside that repeat's common window. */
  perRepeat: readonly (readonly number[])[];
  /** Per instance: the memory nodes it was planned on. */
  nodes: readonly (readonly number[])[];
}

/** The balance of a point with 2 or more instances; null for a single instance. */
export function pointBalance(input: BalanceInput): PointBalance | null {
  const count = input.nodes.length;
  if (count < 2 || input.perRepeat.length === 0) return null;
  const instance_ips = Array.from({ length: count }, (_, i) => input.perRepeat.reduce((sum, rep) => sum + (rep[i] ?? 0), 0) / input.perRepeat.length);
  const fastest = Math.max(...instance_ips);
  const node_ips: Record<string, number> = {};
  input.nodes.forEach((nodes, i) => {
    if (nodes.length !== 1) return;
    const key = String(nodes[0]);
    node_ips[key] = (node_ips[key] ?? 0) + instance_ips[i]!;
  });
  return { instance_ips, slowest_fastest: fastest > 0 ? Math.min(...instance_ips) / fastest : 1, node_ips };
}

const pct = (share: number) => `${(share * 100).toFixed(0)}%`;

/** The point's warnings about its balance: the slow instance, and with one instance per node the slow node(s). */
export function balanceWarnings(balance: PointBalance, nodes: readonly (readonly number[])[], maxImbalance = DEFAULT_MAX_IMBALANCE): string[] {
  if (balance.slowest_fastest >= 1 - maxImbalance) return [];
  const ips = balance.instance_ips;
  const slow = ips.indexOf(Math.min(...ips));
  const fast = ips.indexOf(Math.max(...ips));
  const warnings = [
    `instances imbalanced: instance ${slow} at ${ips[slow]!.toFixed(2)} img/s is ${pct(balance.slowest_fastest)} of instance ${fast} ` +
      `at ${ips[fast]!.toFixed(2)} img/s (limit ${pct(1 - maxImbalance)}, over the common window)`,
  ];
  const oneNodeEach = nodes.every((n) => n.length === 1) && new Set(nodes.map((n) => n[0])).size === nodes.length;
  if (oneNodeEach) {
    const fastestNode = Math.max(...Object.values(balance.node_ips));
    for (const [node, value] of Object.entries(balance.node_ips)) {
      if (value < (1 - maxImbalance) * fastestNode) {
        warnings.push(`NUMA symmetry: node ${node} at ${value.toFixed(2)} img/s is ${pct(value / fastestNode)} of the fastest node (one instance per node)`);
      }
    }
  }
  return warnings;
}
