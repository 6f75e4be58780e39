import type { HostConfiguration } from '../common/host-config.js';
import type { Topology } from '../common/topology.js';
import { openStore } from '../results/store/store.js';
import type { PointOutcome } from '../results/types.js';
import { matrixPoints, sweepStartFixture, topologyFixture } from './results-fixtures.js';

// Synthetic fleet hosts, each written to its own real SQLite file through the store API as a
// sweep on that host would write it: the fixture matrix scaled by the host's speed, and the
// host's configuration in hosts.config_json.

export interface SyntheticHost {
  hostname: string;
  /** Multiplies every throughput: 1 is the cohort's typical machine. */
  speed: number;
  cpuModel?: string;
  memoryMb?: number;
  /** SMT turned off: only the first thread of each core online. */
  smtOff?: boolean;
  biosVersion?: string;
  /** Changes the points after they are made (a suspect point, a NUMA imbalance...). */
  edit?: (points: PointOutcome[]) => void;
  experiment?: string;
  /** How the sweep ended (default completed). */
  status?: 'completed' | 'failed' | 'interrupted';
}

export function configurationFixture(o: { biosVersion?: string; smt?: string } = {}): HostConfiguration {
  return {
    bios: { vendor: 'Dell Inc.', version: o.biosVersion ?? '2.19.1', date: '06/20/2023' },
    system: { manufacturer: 'Dell Inc.', product: 'PowerEdge R640', serial: null, uuid: null },
    board: { manufacturer: 'Dell Inc.', product: '0H28RR', serial: null },
    ppin: null,
    dimms: {
      count: 12,
      totalGib: 384,
      slots: 24,
      perSocket: [6, 6],
      modules: Array.from({ length: 12 }, (_, i) => ({
        slot: `CPU${i < 6 ? 0 : 1}_DIMM_${'ABCDEF'[i % 6]}1`,
        sizeGib: 32,
        speedMts: 2933,
        type: 'DDR4',
        manufacturer: 'Samsung',
        partNumber: 'M393A4K40DB2-CVF',
      })),
    },
    smt: o.smt ?? 'on',
    turbo: 'on',
    governor: 'performance',
    thp: 'always',
    kernelCmdline: 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro quiet',
    numaBalancing: '1',
  };
}

export function syntheticTopology(h: SyntheticHost): Topology {
  const t = topologyFixture({ hostname: h.hostname });
  const cpus = h.smtOff ? t.cpus.map((c) => ({ ...c, online: c.cpu < 40 })) : t.cpus;
  return {
    ...t,
    cpus,
    nodes: t.nodes.map((n) => ({ ...n, cpus: n.cpus.filter((cpu) => cpus[cpu]!.online) })),
    host: { ...t.host!, cpuModel: h.cpuModel ?? t.host!.cpuModel, memoryMb: h.memoryMb ?? t.host!.memoryMb },
  };
}

/** Writes one ended sweep of `h` (completed unless `h.status` says otherwise) to a new database at `path`. */
export function writeHostDb(path: string, h: SyntheticHost): void {
  const store = openStore(path);
  try {
    const id = store.beginSweep(sweepStartFixture({ name: h.experiment ?? 'unet-2d-scaling', topology: syntheticTopology(h) }));
    const points = matrixPoints({ factor: h.speed });
    h.edit?.(points);
    store.recordPoints(id, points);
    store.finishSweep(id, h.status ?? 'completed');
    const config = configurationFixture({ biosVersion: h.biosVersion, smt: h.smtOff ? 'off' : 'on' });
    store.db.prepare('UPDATE hosts SET config_json = ?').run(JSON.stringify(config));
  } finally {
    store.close();
  }
}
