// The ${name} variables profiles may use, and their substitution. The values come from
// resolve.ts; this module only knows names and syntax, so loading can check them early.

/** Numbers known per point: usable in thread settings and in environment values. */
export const NUMBER_VARIABLES = [
  'cores_per_instance',
  'threads_per_instance',
  'instances',
  'batch_size',
  'sockets',
  'nodes_per_instance',
] as const;

/** Known per instance: environment values only. */
export const INSTANCE_VARIABLES = ['instance', 'cpus', 'nodes', 'intra', 'inter'] as const;

export const ENV_VARIABLES: readonly string[] = [...NUMBER_VARIABLES, ...INSTANCE_VARIABLES];

const REFERENCE = /\$\{([^}]*)\}/g;

/** Names referenced as ${name} in a string, in order. */
export function variablesIn(text: string): string[] {
  return [...text.matchAll(REFERENCE)].map((m) => m[1]!);
}

/** Replaces every ${name}; `lookup` returns the value or throws for a name it does not know. */
export function substitute(text: string, lookup: (name: string) => string): string {
  return text.replace(REFERENCE, (_, name: string) => lookup(name));
}
