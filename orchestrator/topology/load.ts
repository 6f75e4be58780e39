import { readFile } from 'node:fs/promises';
import { UserError } from '../../common/errors.js';
import { topologyFromLscpu } from './lscpu.js';
import { numactlAvailable } from './numactl.js';
import { readHostTopology } from './read-host.js';
import type { Topology } from '../../common/topology.js';

export interface LoadTopologyOptions {
  /** A saved `lscpu --parse=CPU,CORE,SOCKET,NODE` file; absent: this host. */
  from?: string;
  /** A CPU list standing in for the cgroup cpuset / affinity mask. */
  allowedCpus?: string | readonly number[];
}

/**
 * The topology to plan for: a file (`--topology FILE`) or this host. For a file, `numactl`
 * still says whether numactl is on PATH here, since here is where the plan would run.
 */
export async function loadTopology(opts: LoadTopologyOptions = {}): Promise<Topology> {
  if (opts.from === undefined) return readHostTopology({ allowedCpus: opts.allowedCpus });
  let text: string;
  try {
    text = await readFile(opts.from, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read topology file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      location: { file: opts.from }, cause: err,
      hint: 'pass the saved output of `lscpu --parse=CPU,CORE,SOCKET,NODE`',
    });
  }
  const topo = topologyFromLscpu(text, opts.from, opts.allowedCpus);
  return { ...topo, numactl: await numactlAvailable() };
}
