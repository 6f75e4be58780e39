import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The kernel modules the guest loads, in an order that loads each after the modules it needs.
// An unpacked kernel package has no modules.dep (depmod writes it on install), so the
// dependencies are read from each module's own .modinfo text: "depends=a,b".

/** The `depends=` list of a .ko file's bytes (empty when it needs nothing). */
export function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf('\0depends=');
  if (at < 0) return [];
  const start = at + '\0depends='.length;
  const end = ko.indexOf(0, start);
  const list = ko.subarray(start, end < 0 ? undefined : end).toString('latin1');
  return list.split(',').filter((name) => name !== '');
}

/** Every .ko under `dir`, by module name (a module's name spells '-' as '_'). */
export function indexModules(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ko')) found.set(entry.name.slice(0, -3).replace(/-/g, '_'), path);
    }
  };
  walk(dir);
  return found;
}

/** Names of the modules built into the kernel, from the text of its modules.builtin ("kernel/.../name.ko" a line). */
export function builtinModules(modulesBuiltinText: string): Set<string> {
  const names = modulesBuiltinText.split('\n').map((l) => /([^/]+)\.ko$/.exec(l.trim())?.[1]).filter((n): n is string => n !== undefined);
  return new Set(names.map((n) => n.replace(/-/g, '_')));
}

/** The files of `wanted` and everything they depend on, dependencies first; built-in modules need no loading. */
export function moduleLoadOrder(wanted: readonly string[], modules: ReadonlyMap<string, string>, builtin: ReadonlySet<string> = new Set()): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string, neededBy: string) => {
    const key = name.replace(/-/g, '_');
    if (done.has(key) || builtin.has(key)) return;
    if (visiting.has(key)) throw new Error(`kernel module dependency cycle at ${key}`);
    const file = modules.get(key);
    if (!file) throw new Error(`kernel module ${key} (needed by ${neededBy}) is not in the kernel package`);
    visiting.add(key);
    for (const dep of moduleDepends(readFileSync(file))) visit(dep, key);
    visiting.delete(key);
    done.add(key);
    order.push(file);
  };
  for (const name of wanted) visit(name, 'the guest');
  return order;
}
