import { readFile } from 'node:fs/promises';
import { UserError } from '../../common/errors.js';
import { parseCpuList } from '../../common/cpulist.js';

// This process's affinity mask and memory policy set, as the kernel reports them.
// (The runner reads the same file for itself; the orchestrator keeps its own reader.)

export interface ProcessAffinity {
  cpus: number[];
  mems: number[];
}

export function parseProcStatus(text: string, file = '/proc/self/status'): ProcessAffinity {
  const field = (name: string): number[] => {
    const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text);
    if (!m) throw new UserError(`${name} missing`, { location: { file }, hint: 'numa-sweep needs Linux /proc' });
    return parseCpuList(m[1]!, name, { file });
  };
  return { cpus: field('Cpus_allowed_list'), mems: field('Mems_allowed_list') };
}

export async function readProcessAffinity(file = '/proc/self/status'): Promise<ProcessAffinity> {
  return parseProcStatus(await readFile(file, 'utf8'), file);
}
