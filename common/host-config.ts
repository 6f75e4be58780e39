// A machine's configuration: what explains its performance and what identifies it, captured with
// every sweep (orchestrator/topology/host-config-read.ts) and stored as hosts.config_json.
// Every field is null where this machine does not expose it (a VM without DMI, a kernel without
// cpufreq); people see that as "not exposed", never as a guess.

export interface DimmModule {
  /** Slot label as the firmware names it ("CPU0_DIMM_A1"), or null. */
  slot: string | null;
  sizeGib: number;
  /** Configured speed in MT/s, or null. */
  speedMts: number | null;
  type: string | null;
  manufacturer: string | null;
  partNumber: string | null;
}

export interface DimmLayout {
  /** Populated modules. */
  count: number;
  totalGib: number;
  /** All slots the firmware lists, populated or not; null when it lists only populated ones. */
  slots: number | null;
  /** Populated modules per socket, where slot labels say which socket; else null. */
  perSocket: number[] | null;
  modules: DimmModule[];
}

export interface HostConfiguration {
  bios: { vendor: string | null; version: string | null; date: string | null };
  system: { manufacturer: string | null; product: string | null; serial: string | null; uuid: string | null };
  board: { manufacturer: string | null; product: string | null; serial: string | null };
  /** Protected Processor Inventory Number per socket (sysfs topology/ppin), or null. */
  ppin: string[] | null;
  dimms: DimmLayout | null;
  /** /sys/devices/system/cpu/smt/control: on, off, forceoff, notsupported, notimplemented. */
  smt: string | null;
  /** Turbo/boost: 'on' or 'off' (intel_pstate no_turbo, or cpufreq boost). */
  turbo: string | null;
  /** The scaling governor of the online CPUs; "mixed: a,b" when they differ. */
  governor: string | null;
  /** Transparent huge pages mode, the bracketed word of transparent_hugepage/enabled. */
  thp: string | null;
  kernelCmdline: string | null;
  /** /proc/sys/kernel/numa_balancing. */
  numaBalancing: string | null;
}

/**
 * The fields that change performance (a cohort of machines should agree on them), as
 * [name, value] pairs with flat string values; identity fields (serials, UUID, PPIN) are left out.
 */
export function performanceFields(c: HostConfiguration): [string, string | null][] {
  return [
    ['bios_vendor', c.bios.vendor],
    ['bios_version', c.bios.version],
    ['dimm_count', c.dimms ? String(c.dimms.count) : null],
    ['dimm_total_gib', c.dimms ? String(c.dimms.totalGib) : null],
    ['dimm_per_socket', c.dimms?.perSocket ? c.dimms.perSocket.join('+') : null],
    ['dimm_speed_mts', c.dimms ? dimmSpeeds(c.dimms) : null],
    ['smt', c.smt],
    ['turbo', c.turbo],
    ['governor', c.governor],
    ['thp', c.thp],
    ['kernel_cmdline', c.kernelCmdline],
    ['numa_balancing', c.numaBalancing],
  ];
}

function dimmSpeeds(d: DimmLayout): string | null {
  const speeds = [...new Set(d.modules.map((m) => m.speedMts).filter((s): s is number => s !== null))].sort((a, b) => a - b);
  return speeds.length ? speeds.join(',') : null;
}
