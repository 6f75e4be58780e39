import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../common/paths.js';

// The layering of docs/architecture.md, checked on the sources: each folder may import only
// the folders listed for it (its own included). Type-only imports count too: a type that two
// layers share belongs in the lower one.

const MAY_IMPORT: Record<string, readonly string[]> = {
  common: ['common'],
  runner: ['runner', 'common'],
  results: ['results', 'runner', 'common'],
  orchestrator: ['orchestrator', 'runner', 'results', 'common'],
  cli: ['cli', 'orchestrator', 'runner', 'results', 'common'],
};

/** Folders below runner/ that only the runner itself may import: the orchestrator never runs engine code. */
const RUNNER_ONLY = ['runner/engines'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative module specifiers of a TypeScript source: static imports, re-exports and import(). */
function relativeImports(text: string): string[] {
  const specs: string[] = [];
  const pattern = /(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;
  for (const m of text.matchAll(pattern)) specs.push((m[1] ?? m[2])!);
  return specs;
}

interface Violation {
  file: string;
  imports: string;
  rule: string;
}

function violations(): Violation[] {
  const found: Violation[] = [];
  for (const layer of Object.keys(MAY_IMPORT)) {
    for (const file of sources(join(packageRoot, layer))) {
      const from = relative(packageRoot, file).split(sep).join('/');
      for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
        const target = relative(packageRoot, resolve(dirname(file), spec)).split(sep).join('/');
        const top = target.split('/')[0]!;
        if (!(top in MAY_IMPORT)) continue; // schemas/*.json, package.json: data, not layers
        if (!MAY_IMPORT[layer]!.includes(top)) {
          found.push({ file: from, imports: target, rule: `${layer}/ may import only ${MAY_IMPORT[layer]!.join(', ')}` });
        }
        for (const inner of RUNNER_ONLY) {
          if (target.startsWith(inner + '/') && layer !== 'runner') {
            found.push({ file: from, imports: target, rule: `${inner}/ is imported by the runner alone` });
          }
        }
      }
    }
  }
  return found;
}

test('every layer imports only the layers below it (docs/architecture.md)', () => {
  const found = violations();
  assert.deepEqual(
    found.map((v) => `${v.file} imports ${v.imports}: ${v.rule}`),
    [],
  );
});

test('the import check sees imports: the CLI reaches the orchestrator, the runner reaches common', () => {
  const cli = relativeImports(readFileSync(join(packageRoot, 'cli/main.ts'), 'utf8'));
  assert.ok(cli.some((s) => s.startsWith('../orchestrator/')), 'cli/main.ts imports the orchestrator');
  const runner = relativeImports(readFileSync(join(packageRoot, 'runner/run-job.ts'), 'utf8'));
  assert.ok(runner.some((s) => s.startsWith('../common/')), 'runner/run-job.ts imports common/');
  assert.ok(relativeImports("import type { A } from '../x/y.js';\nexport { B } from './b.js';").length === 2);
});
