import { totalmem } from 'node:os';
import si from 'systeminformation';
import { parseCpuList } from '../../common/cpulist.js';
import { readOptional } from '../../common/read-optional.js';
import type { DimmLayout, DimmModule, HostConfiguration } from '../../common/host-config.js';

// This machine's configuration (common/host-config.ts): firmware and board from DMI through
// systeminformation, the DIMMs from its memory layout (dmidecode, which needs root), and the
// kernel's settings from sysfs and /proc. A value the machine does not expose is null, never a
// guess: firmware placeholders ("Not Specified", "To Be Filled By O.E.M.") and the stand-ins
// systeminformation writes where DMI says nothing are null too. About 50 ms on a 2-CPU VM: the
// four systeminformation reads run in parallel, the sysfs reads are small files.

const SYS_CPU = '/sys/devices/system/cpu';

/** Strings firmware writes into DMI fields it does not fill (compared lower-case). */
const DMI_PLACEHOLDERS = new Set([
  '', '-', '0', 'none', 'n/a', 'na', 'unknown', 'not specified', 'not applicable', 'not present', 'not available',
  'to be filled by o.e.m.', 'default string', 'oem', 'o.e.m.', '0123456789', '123456789', '1234567890',
  'system manufacturer', 'system product name', 'system version', 'system serial number',
  'base board manufacturer', 'base board product name', 'base board serial number', 'chassis serial number',
  // A UUID many boards ship unset.
  '03000200-0400-0500-0006-000700080009',
]);

/**
 * What systeminformation writes as the system's product when DMI names none (or, for the first,
 * inside any container): not the firmware's words.
 */
const SI_PRODUCT_STAND_INS = new Set(['Computer', 'Virtual machine', 'Docker Container']);

/** A DMI string, or null when it is empty or a placeholder (all-zero or all-F UUIDs included). */
export function dmiValue(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const text = raw.trim();
  if (DMI_PLACEHOLDERS.has(text.toLowerCase())) return null;
  if (/^[0-]+$/.test(text) || /^[fF-]+$/.test(text)) return null;
  return text;
}

/** The bracketed word of a sysfs choice file ("always [madvise] never" -> "madvise"), or null. */
export function bracketedChoice(text: string | null): string | null {
  if (text === null) return null;
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? null;
}

/**
 * One governor for the online CPUs: the common one, or "mixed: a,b" (distinct values sorted, "not
 * exposed" among them when some CPUs have no cpufreq); null when no CPU exposes one.
 */
export function governorSummary(perCpu: readonly (string | null)[]): string | null {
  const values = perCpu.map((g) => (g === null || g.trim() === '' ? null : g.trim()));
  if (values.every((g) => g === null)) return null;
  const distinct = [...new Set(values.map((g) => g ?? 'not exposed'))].sort();
  return distinct.length === 1 ? distinct[0]! : `mixed: ${distinct.join(',')}`;
}

/** Turbo from intel_pstate/no_turbo (1 = off) or else cpufreq/boost (1 = on); null when neither is there. */
export function turboState(noTurbo: string | null, boost: string | null): string | null {
  if (noTurbo !== null && /^[01]$/.test(noTurbo.trim())) return noTurbo.trim() === '1' ? 'off' : 'on';
  if (boost !== null && /^[01]$/.test(boost.trim())) return boost.trim() === '1' ? 'on' : 'off';
  return null;
}

/**
 * The socket a DIMM slot label names ("CPU1_DIMM_A1", "P0_Node0_Channel0_Dimm0", "PROC 2 DIMM 3",
 * "NODE 1"), or null when it names none ("A1", "BANK 0", "ChannelA-DIMM0").
 */
export function socketOfSlot(label: string | null): number | null {
  if (label === null) return null;
  const m = /(?:^|[^A-Za-z])(?:CPU|PROCESSOR|PROC|SOCKET|NODE|P)\s*[_-]?\s*(\d+)/i.exec(label);
  return m ? Number(m[1]) : null;
}

const gib = (bytes: number): number => Math.round((bytes / 2 ** 30) * 100) / 100;

/**
 * The DIMM layout from systeminformation's memory layout, or null when it does not come from the
 * firmware: without dmidecode (or root) systeminformation reports one made-up module of the
 * machine's total memory with no slot, type or speed. `boardSlots`: the slot count the board's
 * memory array declares, when known. Modules per socket only when every slot label names one
 * (sockets in label order, so a board counting from 1 or from 0 reads the same).
 */
export function dimmLayout(entries: readonly si.Systeminformation.MemLayoutData[], boardSlots: number | null, machineBytes: number): DimmLayout | null {
  const madeUp = entries.length === 1 && !entries[0]!.bank && !entries[0]!.type && !entries[0]!.clockSpeed && entries[0]!.size === machineBytes;
  if (entries.length === 0 || madeUp) return null;
  const populated = entries.filter((e) => e.size > 0);
  if (populated.length === 0) return null;
  const modules: DimmModule[] = populated.map((e) => ({
    slot: dmiValue(e.bank),
    sizeGib: gib(e.size),
    speedMts: e.clockSpeed ? e.clockSpeed : null,
    type: dmiValue(e.type),
    manufacturer: dmiValue(e.manufacturer),
    partNumber: dmiValue(e.partNum),
  }));
  // Empty slots count too: a socket whose slots are all empty still shows 0.
  const sockets = entries.map((e) => socketOfSlot(dmiValue(e.bank)));
  let perSocket: number[] | null = null;
  if (sockets.every((s) => s !== null)) {
    const ids = [...new Set(sockets as number[])].sort((a, b) => a - b);
    perSocket = ids.map((id) => entries.filter((e, i) => sockets[i] === id && e.size > 0).length);
  }
  return {
    count: populated.length,
    totalGib: gib(populated.reduce((sum, e) => sum + e.size, 0)),
    // SMBIOS lists one memory device per slot, populated or not.
    slots: boardSlots ?? entries.length,
    perSocket,
    modules,
  };
}

const trimmed = (text: string | null): string | null => (text === null || text.trim() === '' ? null : text.trim());

/** Online CPUs, from sysfs; [] where the kernel does not list them. */
async function onlineCpus(): Promise<number[]> {
  const text = await readOptional(`${SYS_CPU}/online`);
  return text === null ? [] : parseCpuList(text, 'online CPUs', { file: `${SYS_CPU}/online` });
}

/** PPIN per socket, in socket order; null unless the kernel exposes it for every socket. */
async function readPpin(cpus: readonly number[]): Promise<string[] | null> {
  const bySocket = new Map<number, string | null>();
  for (const cpu of cpus) {
    const pkg = trimmed(await readOptional(`${SYS_CPU}/cpu${cpu}/topology/physical_package_id`));
    if (pkg === null || bySocket.has(Number(pkg))) continue;
    bySocket.set(Number(pkg), trimmed(await readOptional(`${SYS_CPU}/cpu${cpu}/topology/ppin`)));
  }
  const ppins = [...bySocket.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
  return ppins.length > 0 && ppins.every((p) => p !== null) ? (ppins as string[]) : null;
}

export async function readHostConfiguration(): Promise<HostConfiguration> {
  const cpus = await onlineCpus();
  const [bios, system, board, memLayout, ppin, governors, smt, noTurbo, boost, thp, cmdline, numaBalancing] = await Promise.all([
    si.bios(),
    si.system(),
    si.baseboard(),
    si.memLayout(),
    readPpin(cpus),
    Promise.all(cpus.map((cpu) => readOptional(`${SYS_CPU}/cpu${cpu}/cpufreq/scaling_governor`))),
    readOptional(`${SYS_CPU}/smt/control`),
    readOptional(`${SYS_CPU}/intel_pstate/no_turbo`),
    readOptional(`${SYS_CPU}/cpufreq/boost`),
    readOptional('/sys/kernel/mm/transparent_hugepage/enabled'),
    readOptional('/proc/cmdline'),
    readOptional('/proc/sys/kernel/numa_balancing'),
  ]);
  const product = dmiValue(system.model);
  return {
    bios: { vendor: dmiValue(bios.vendor), version: dmiValue(bios.version), date: dmiValue(bios.releaseDate) },
    system: {
      manufacturer: dmiValue(system.manufacturer),
      product: product !== null && SI_PRODUCT_STAND_INS.has(product) ? null : product,
      serial: dmiValue(system.serial),
      uuid: dmiValue(system.uuid),
    },
    board: { manufacturer: dmiValue(board.manufacturer), product: dmiValue(board.model), serial: dmiValue(board.serial) },
    ppin,
    dimms: dimmLayout(memLayout, board.memSlots, totalmem()),
    smt: trimmed(smt),
    turbo: turboState(noTurbo, boost),
    governor: governorSummary(governors),
    thp: bracketedChoice(thp),
    kernelCmdline: trimmed(cmdline),
    numaBalancing: trimmed(numaBalancing),
  };
}
