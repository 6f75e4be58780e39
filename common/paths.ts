import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The package root, found from this file whether it runs from the sources' dist/ build or not.
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('numa-sweep: package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export const packageRoot = findPackageRoot();

/** Path of a file shipped with the package (models/, schemas/, experiments/, results/queries/). */
export function packagePath(...parts: string[]): string {
  return join(packageRoot, ...parts);
}

/** The compiled runner entry point that orchestrator launches as a child process. */
export const runnerEntry = packagePath('dist', 'runner', 'main.js');

/** `../shared` beside the checkout, where reference fixtures live; undefined when absent. */
export function sharedDir(): string | undefined {
  const dir = join(packageRoot, '..', 'shared');
  return existsSync(dir) ? dir : undefined;
}
