import { readFile } from 'node:fs/promises';
import si from 'systeminformation';
import type { HostFacts } from '../../common/topology.js';
import { readHostConfiguration } from './host-config-read.js';

// Facts recorded with every sweep so results from different machines are not mixed up.
// The CPU model is the one the kernel reports ("model name" in /proc/cpuinfo, what lscpu shows):
// systeminformation prefers the firmware's (DMI) string, which in a virtual machine is the
// machine type ("pc-i440fx-7.2"), not the CPU. It stands in only where the kernel names none.

async function cpuinfo(): Promise<string> {
  try {
    return await readFile('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** The first "model name" of /proc/cpuinfo text, or null. */
export function kernelCpuModel(cpuinfoText: string): string | null {
  const m = /^model name\s*:\s*(.*\S)\s*$/m.exec(cpuinfoText);
  return m ? m[1]! : null;
}

export async function readHostFacts(): Promise<HostFacts> {
  const [cpu, os, mem, cpuinfoText, config] = await Promise.all([si.cpu(), si.osInfo(), si.mem(), cpuinfo(), readHostConfiguration()]);
  return {
    hostname: os.hostname,
    cpuModel: kernelCpuModel(cpuinfoText) ?? `${cpu.manufacturer} ${cpu.brand}`.trim(),
    microcode: /^microcode\s*:\s*(\S+)/m.exec(cpuinfoText)?.[1] ?? null,
    kernel: os.kernel,
    os: `${os.distro} ${os.release}`.trim(),
    memoryMb: Math.round(mem.total / 2 ** 20),
    config,
  };
}
