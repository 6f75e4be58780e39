import { readFileSync } from 'node:fs';
import { packagePath } from '../common/paths.js';
import { topologyFromLscpu } from '../orchestrator/topology/lscpu.js';
import type { Topology } from '../common/topology.js';

// Topologies from the lscpu fixtures, for the placement tests. numactl is taken as present
// unless a test says otherwise, so the plans do not depend on this machine.

export function fixtureTopology(name: string, allowedCpus?: string): Topology {
  const file = packagePath('test', 'fixtures', 'lscpu', `${name}.txt`);
  return { ...topologyFromLscpu(readFileSync(file, 'utf8'), file, allowedCpus), numactl: true };
}

export const FIXTURES = ['xeon-8380-2s-ht', 'xeon-8380-2s-snc2', 'epyc-7763-nps4', 'hybrid-i9-12900k', 'offline-cpus', 'xeon-max-9480-hbm-flat'];

/** Every fixture, plus containers confined to part of one node and to a slice across two. */
export function allTopologies(): Topology[] {
  return [
    ...FIXTURES.map((f) => fixtureTopology(f)),
    fixtureTopology('xeon-8380-2s-ht', '0-9,80-89'),
    fixtureTopology('xeon-8380-2s-snc2', '12-27,92-95'),
    fixtureTopology('epyc-7763-nps4', '8-40'),
  ];
}
