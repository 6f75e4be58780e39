import { performanceFields, type HostConfiguration } from '../../common/host-config.js';
import type { FleetMember } from './members.js';

// Configuration outliers: within a cohort (the same hardware), a host whose configuration differs
// from what the majority of its peers run. The fields are the HostConfiguration's performance
// fields (common/host-config.ts: BIOS, DIMM population and speed, SMT, turbo, governor, THP, kernel
// command line, NUMA balancing) and, from the hosts row, microcode, kernel and threads per core
// (SMT as the CPU count shows it, known even where the configuration was not recorded). The kernel
// command line is compared without the parameters that say where the host boots from (root=...).
//
// The majority of a field is a value held by more than half of the hosts that expose it. A host
// that does not expose a field (null: a VM without DMI, a configuration not recorded) is not
// judged on it. Where no value has a majority (two hosts that differ, three values among three
// hosts) the field cannot be judged and is reported as such.

export interface ConfigurationOutlier {
  hostname: string;
  field: string;
  value: string;
  majority: string;
  /** Hosts holding the majority value, of those exposing the field. */
  majorityHosts: number;
  exposingHosts: number;
}

export interface UnjudgedField {
  field: string;
  /** Each value with the hosts holding it. */
  values: { value: string; hosts: string[] }[];
  why: string;
}

export interface ConfigurationFindings {
  outliers: ConfigurationOutlier[];
  unjudged: UnjudgedField[];
}

/** The compared fields of one host, as [name, value]; null where not exposed. */
function configurationFields(m: FleetMember): [string, string | null][] {
  const h = m.host;
  return [
    ...performanceFields(m.config ?? NOT_RECORDED).map(([name, value]): [string, string | null] => [
      name,
      name === 'kernel_cmdline' ? comparableCmdline(value) : value,
    ]),
    ['microcode', h.microcode],
    ['kernel', h.kernel === 'unknown' ? null : h.kernel],
    ['threads_per_core', h.cores > 0 ? String(h.threads / h.cores) : null],
  ];
}

export function configurationOutliers(members: readonly FleetMember[]): ConfigurationFindings {
  const findings: ConfigurationFindings = { outliers: [], unjudged: [] };
  if (members.length < 2) return findings;
  const perHost = members.map((m) => ({ hostname: m.hostname, fields: new Map(configurationFields(m)) }));
  const fieldNames = configurationFields(members[0]!).map(([name]) => name);
  for (const field of fieldNames) {
    const holders = new Map<string, string[]>();
    for (const h of perHost) {
      const value = h.fields.get(field);
      if (value === null || value === undefined) continue;
      holders.set(value, [...(holders.get(value) ?? []), h.hostname]);
    }
    if (holders.size < 2) continue; // all agree, or nobody exposes it
    const exposing = [...holders.values()].reduce((n, hs) => n + hs.length, 0);
    const ranked = [...holders.entries()].sort((a, b) => b[1].length - a[1].length);
    const [majority, majorityHosts] = ranked[0]!;
    if (majorityHosts.length * 2 <= exposing) {
      findings.unjudged.push({
        field,
        values: ranked.map(([value, hosts]) => ({ value, hosts })),
        why: `no value is held by more than half of the ${exposing} hosts that expose it`,
      });
      continue;
    }
    for (const [value, hosts] of ranked.slice(1)) {
      for (const hostname of hosts) {
        findings.outliers.push({ hostname, field, value, majority, majorityHosts: majorityHosts.length, exposingHosts: exposing });
      }
    }
  }
  return findings;
}

/**
 * Kernel parameters that say where a host boots from, not how it runs: `root=UUID=...` differs on
 * every installed host and BOOT_IMAGE names the kernel (compared as its own field). Kept in, they
 * would make every host's command line unique (nothing judged, a `mitigations=off` missed) or name
 * a host for its disk. Words after a lone `--` are init's arguments, not the kernel's.
 */
const BOOT_LOCATION_PARAMETERS = new Set(['BOOT_IMAGE', 'initrd', 'root', 'resume']);

/** The kernel command line without its boot-location parameters, as compared across hosts. */
export function comparableCmdline(cmdline: string | null): string | null {
  if (cmdline === null) return null;
  const words = cmdline.split(/\s+/).filter((w) => w !== '');
  const initArgs = words.indexOf('--');
  return (initArgs >= 0 ? words.slice(0, initArgs) : words).filter((w) => !BOOT_LOCATION_PARAMETERS.has(w.split('=')[0]!)).join(' ');
}

/** A configuration with nothing exposed: the fields of a host whose configuration was not recorded. */
const NOT_RECORDED: HostConfiguration = {
  bios: { vendor: null, version: null, date: null },
  system: { manufacturer: null, product: null, serial: null, uuid: null },
  board: { manufacturer: null, product: null, serial: null },
  ppin: null,
  dimms: null,
  smt: null,
  turbo: null,
  governor: null,
  thp: null,
  kernelCmdline: null,
  numaBalancing: null,
};
