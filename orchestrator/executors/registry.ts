import { UserError } from '../../common/errors.js';
import { nearestAll } from '../../common/nearest.js';
import type { Executor } from './executor.js';
import { localExecutor } from './local.js';

// Executors by name. Adding one (a workload manager, a remote shell) is a file beside this one
// and a line here; nothing else chooses between them.

const EXECUTORS = new Map<string, Executor>([[localExecutor.name, localExecutor]]);

export const DEFAULT_EXECUTOR = localExecutor.name;

export function executorNames(): string[] {
  return [...EXECUTORS.keys()];
}

export function executors(): Executor[] {
  return [...EXECUTORS.values()];
}

export function getExecutor(name: string): Executor {
  const found = EXECUTORS.get(name);
  if (found) return found;
  const near = nearestAll(name.trim(), executorNames());
  throw new UserError(`unknown executor ${JSON.stringify(name)}${near.length > 0 ? `; did you mean ${near.join(' or ')}?` : ''}`, {
    value: name,
    hint: `known executors: ${executorNames().join(', ')}`,
  });
}
