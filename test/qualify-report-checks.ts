import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { packagePath } from '../common/paths.js';

// Checks of the reports `sweep qualify` writes, shared by its tests: the JUnit file against
// test/fixtures/junit.xsd with xmllint (Debian's libxml2-utils), the Markdown summary as a table.

const XSD = packagePath('test', 'fixtures', 'junit.xsd');

/** Validates JUnit text against the schema with xmllint; returns its exit code and messages. */
export function validateJunit(file: string): { code: number | null; output: string } {
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return { code: r.status, output: r.stderr + r.stdout };
}

/** The rows of the first Markdown table in `text`, cells split on unescaped pipes; checks the separator. */
export function markdownTable(text: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  assert.ok(start >= 0, 'a table');
  const table: string[] = [];
  for (const l of lines.slice(start)) {
    if (!l.startsWith('|')) break;
    table.push(l);
  }
  const cells = (line: string) => {
    assert.ok(line.startsWith('| ') && line.endsWith(' |'), `a row starts and ends with a pipe: ${line}`);
    return line.slice(2, -2).split(/(?<!\\) \| /);
  };
  const [header, separator, ...rows] = table.map(cells);
  assert.ok(header && separator, 'a header and a separator');
  assert.ok(separator.every((c) => /^:?-{3,}:?$/.test(c)), `separator: ${table[1]}`);
  assert.equal(separator.length, header.length, 'separator columns');
  for (const r of rows) assert.equal(r.length, header.length, `columns of ${JSON.stringify(r)}`);
  return [header, ...rows];
}

