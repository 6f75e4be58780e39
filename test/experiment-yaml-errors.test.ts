import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { parseExperiment } from '../orchestrator/experiment/load.js';

// YAML that attacks or misleads the parser: an alias bomb is bad input (exit 2, the file and
// the first alias named), and an unclosed quote is reported where it opens, not at the end.

const dir = mkdtempSync(join(tmpdir(), 'yaml-errors-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Nine levels of nine aliases each: 9^9 strings if expanded. */
function aliasBomb(): string {
  const lines = ['name: bomb', 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) lines.push(`l${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(',')}]`);
  lines.push("workload: { model: 'builtin:unet2d-decathlon', data: x.h5 }", 'matrix: { batch_size: 1 }', '');
  return lines.join('\n');
}

function syntaxError(text: string): UserError {
  try {
    parseExperiment(text, join(dir, 'x.yaml'));
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  return assert.fail('parsed without error');
}

describe('hostile and broken YAML', () => {
  it('an alias bomb is exit 2 naming the file and the first alias, through the real CLI', () => {
    const file = join(dir, 'bomb.yaml');
    writeFileSync(file, aliasBomb());
    const run = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'plan', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`^error: ${file}:3:\\d+: YAML aliases expand too far`, 'm'));
  });

  it('an unclosed double quote is reported at the line where it opens', () => {
    const e = syntaxError('name: q\ndescription: "an unclosed quote\nworkload: { model: builtin:unet2d-decathlon, data: x.h5 }\nmatrix:\n  batch_size: 1\n');
    assert.equal(e.location.line, 2);
    assert.equal(e.location.column, 14);
    assert.match(e.message, /quote opened here is never closed/);
    assert.equal(e.value, 'description: "an unclosed quote');
  });

  it('an unclosed single quote inside a nested mapping, likewise', () => {
    const e = syntaxError("name: q\nworkload:\n  model: 'builtin:unet2d-decathlon\n  data: x.h5\nmatrix:\n  batch_size: 1\n");
    assert.deepEqual([e.location.line, e.location.column], [3, 10]);
  });

  it('other syntax errors keep their own position', () => {
    const e = syntaxError('name: q\nmatrix: { batch_size: 1\n');
    assert.ok(e.location.line !== undefined && e.location.line >= 2, JSON.stringify(e.location));
    assert.doesNotMatch(e.message, /quote opened/);
  });
});
