import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** The first executable called `name` on PATH, or null. */
export async function findOnPath(name: string, path = process.env.PATH ?? ''): Promise<string | null> {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Whether numactl can be launched here (binding falls back to taskset without it). */
export async function numactlAvailable(): Promise<boolean> {
  return (await findOnPath('numactl')) !== null;
}
