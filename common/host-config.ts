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
  /** Slots the board declares (or the firmware lists, populated or not); null when unknown. */
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

/**
 * The fields that say which machine this is (serials, UUID, PPIN, the board and system model):
 * when one of them differs, the hardware is another.
 */
export function identityFields(c: HostConfiguration): [string, string | null][] {
  return [
    ['system_manufacturer', c.system.manufacturer],
    ['system_product', c.system.product],
    ['system_serial', c.system.serial],
    ['system_uuid', c.system.uuid],
    ['board_manufacturer', c.board.manufacturer],
    ['board_product', c.board.product],
    ['board_serial', c.board.serial],
    ['ppin', c.ppin ? c.ppin.join(',') : null],
  ];
}

/** What a person reads: one [label, text] per field, "not exposed" where the machine does not say. */
export function configurationLines(c: HostConfiguration): [string, string][] {
  const shown = (...parts: (string | null)[]): string => {
    const known = parts.filter((p): p is string => p !== null);
    return known.length > 0 ? known.join(' ') : NOT_EXPOSED;
  };
  const d = c.dimms;
  const dimms = d
    ? `${d.count} of ${d.slots ?? '?'} slots, ${d.totalGib} GiB` +
      (d.perSocket ? `, per socket ${d.perSocket.join('+')}` : '') +
      `, ${dimmSpeeds(d) === null ? 'speed not exposed' : `${dimmSpeeds(d)} MT/s`}` +
      (d.modules[0]?.type ? ` ${d.modules[0].type}` : '')
    : NOT_EXPOSED;
  return [
    ['BIOS', c.bios.vendor || c.bios.version || c.bios.date ? `${shown(c.bios.vendor, c.bios.version)}${c.bios.date ? ` (${c.bios.date})` : ''}` : NOT_EXPOSED],
    ['System', shown(c.system.manufacturer, c.system.product)],
    ['System serial', shown(c.system.serial)],
    ['System UUID', shown(c.system.uuid)],
    ['Board', shown(c.board.manufacturer, c.board.product)],
    ['Board serial', shown(c.board.serial)],
    ['PPIN', c.ppin ? c.ppin.join(', ') : NOT_EXPOSED],
    ['DIMMs', dimms],
    ['SMT', shown(c.smt)],
    ['Turbo', shown(c.turbo)],
    ['Governor', shown(c.governor)],
    ['THP', shown(c.thp)],
    ['NUMA balancing', c.numaBalancing === null ? NOT_EXPOSED : c.numaBalancing === '0' ? 'off (0)' : `on (${c.numaBalancing})`],
    ['Kernel command line', shown(c.kernelCmdline)],
  ];
}

/** How a field the machine does not expose is shown. */
export const NOT_EXPOSED = 'not exposed';
