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

/** The files of `wanted` and everything they depend on, dependencies first. */
export function moduleLoadOrder(wanted: readonly string[], modules: ReadonlyMap<string, string>): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string, neededBy: string) => {
    const key = name.replace(/-/g, '_');
    if (done.has(key)) return;
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
