// The machine as the planner sees it. Read from the host (lscpu, sysfs, cgroup, affinity) or
// from a saved `lscpu --parse=CPU,CORE,SOCKET,NODE` file. schemas/topology.schema.json describes it.

import type { HostConfiguration } from './host-config.js';

export interface LogicalCpu {
  cpu: number;
  /** Physical core id, unique across the machine (SMT siblings share it). */
  core: number;
  socket: number;
  /** NUMA node; -1 where lscpu leaves it empty. */
  node: number;
  online: boolean;
  /** In this process's affinity mask and cgroup cpuset. */
  allowed: boolean;
}

export interface NumaNode {
  id: number;
  cpus: number[];
  /** MiB of memory on the node; null where unknown (a topology file). */
  memoryMb: number | null;
  /** A node with memory and no CPUs (HBM, CXL) still counts for --membind. */
  hasMemory: boolean;
}

export interface HostFacts {
  hostname: string;
  cpuModel: string;
  microcode: string | null;
  kernel: string;
  os: string;
  memoryMb: number;
  /** BIOS, board, DIMMs, SMT, turbo, governor, THP ... as read with the topology; null when not read (a topology saved without it). */
  config: HostConfiguration | null;
}

export interface Topology {
  /** 'host' or the path of the file it was read from. */
  source: string;
  cpus: LogicalCpu[];
  nodes: NumaNode[];
  /** Memory nodes this process may allocate on (cgroup cpuset.mems / Mems_allowed). */
  allowedMems: number[];
  sockets: number;
  host: HostFacts | null;
  /** Whether `numactl` is on PATH here (binding falls back to taskset without it). */
  numactl: boolean;
}
