import { readFileSync } from 'node:fs';

// Peak resident set size of this process: VmHWM ("high water mark") from /proc/self/status,
// in kB; process.resourceUsage().maxRSS (also kB, from getrusage) where /proc is absent.

/** VmHWM in kB from the text of /proc/<pid>/status, or undefined when the field is absent. */
export function parseVmHwmKb(statusText: string): number | undefined {
  const m = /^VmHWM:\s*(\d+)\s*kB\s*$/m.exec(statusText);
  return m ? Number(m[1]) : undefined;
}

/** Peak RSS in MB (MiB: kB / 1024). */
export function peakRssMb(statusFile = '/proc/self/status'): number {
  let kb: number | undefined;
  try {
    kb = parseVmHwmKb(readFileSync(statusFile, 'utf8'));
  } catch {
    kb = undefined;
  }
  return (kb ?? process.resourceUsage().maxRSS) / 1024;
}
