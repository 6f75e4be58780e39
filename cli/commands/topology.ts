import type { Command } from '../command.js';
import { flag, parse, str } from '../args.js';
import { loadTopology } from '../../orchestrator/topology/load.js';
import { renderTopology } from '../../orchestrator/topology/show.js';
import { exposureLines, probeCounters } from '../../orchestrator/counters/exposure.js';

export const topologyCommand: Command = {
  name: 'topology',
  summary: "show the CPUs, cores, sockets and NUMA nodes a sweep would use here",
  usage: `usage: sweep topology [--from FILE] [--allowed-cpus LIST] [--json]

Reads lscpu, sysfs, this process's affinity and its cgroup cpuset (or FILE, the output of
lscpu --parse=CPU,CORE,SOCKET,NODE from another machine) and shows what placement sees. For
this machine it also shows the configuration every sweep records with its host: BIOS, system,
board, PPIN, DIMMs, SMT, turbo, governor, THP, kernel command line and NUMA balancing, each
"not exposed" where the machine does not say (docs/host.md), and which perf counter groups
(software, core, LLC, NUMA, uncore memory controller) it lets a sweep count per instance, with
why the others are missing (docs/counters.md).

options:
  --from FILE          read the topology from FILE instead of this machine
  --allowed-cpus LIST  restrict to these CPUs, as a container cpuset would
  --json               as JSON (schemas/topology.schema.json)`,
  async run(argv) {
    const p = parse('topology', argv, { from: { type: 'string' }, 'allowed-cpus': { type: 'string' }, json: { type: 'boolean' } });
    const topo = await loadTopology({ from: str(p, 'from'), allowedCpus: str(p, 'allowed-cpus') });
    if (flag(p, 'json')) {
      process.stdout.write(JSON.stringify(topo, null, 2) + '\n');
      return 0;
    }
    let text = renderTopology(topo);
    // Counters are this machine's: not shown for a topology read from a file.
    if (str(p, 'from') === undefined) text += '\nCounters (perf stat per instance, docs/counters.md):\n' + exposureLines(await probeCounters()).map((l) => `  ${l}`).join('\n');
    process.stdout.write(text + '\n');
    return 0;
  },
};
