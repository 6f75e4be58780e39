import { readFile } from 'node:fs/promises';
import si from 'systeminformation';
import type { HostFacts } from './types.js';

// Facts recorded with every sweep so results from different machines are not mixed up.

async function microcode(): Promise<string | null> {
  try {
    const m = /^microcode\s*:\s*(\S+)/m.exec(await readFile('/proc/cpuinfo', 'utf8'));
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}

export async function readHostFacts(): Promise<HostFacts> {
  const [cpu, os, mem, ucode] = await Promise.all([si.cpu(), si.osInfo(), si.mem(), microcode()]);
  return {
    hostname: os.hostname,
    cpuModel: `${cpu.manufacturer} ${cpu.brand}`.trim(),
    microcode: ucode,
    kernel: os.kernel,
    os: `${os.distro} ${os.release}`.trim(),
    memoryMb: Math.round(mem.total / 2 ** 20),
  };
}
