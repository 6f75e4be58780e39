import { readFile } from 'node:fs/promises';

/** A file's text, or null when it cannot be read (absent on this kernel, no permission). */
export async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}
