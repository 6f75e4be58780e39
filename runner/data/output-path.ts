import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../common/errors.js';

/** Checks before writing that `path` can be created: its folder exists and it is not a folder itself. */
export function checkOutputPath(path: string, what: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`cannot write ${what}: folder ${dir} does not exist`, { location: { file: path }, hint: 'create the folder first' });
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new UserError(`cannot write ${what}: the path is a folder`, { location: { file: path } });
  }
}
