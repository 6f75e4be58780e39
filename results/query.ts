import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { toCsv } from './export/csv-text.js';
import { formatTable } from '../common/format-table.js';
import { openStore } from './store/store.js';

// `sweep query`: one SQL statement, or a saved query by name, against a database opened
// read-only. SQLite itself says whether a statement writes (sqlite3_stmt_readonly); such a
// statement is refused before it runs.

export type QueryFormat = 'table' | 'json' | 'csv';
export const QUERY_FORMATS: readonly QueryFormat[] = ['table', 'json', 'csv'];

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

export interface SavedQuery {
  name: string;
  file: string;
  /** The first comment line: the question the query answers. */
  description: string;
  /** Named parameters it takes (all optional: a missing one is NULL). */
  params: string[];
  sql: string;
}

export const queriesDir = packagePath('results', 'queries');

export function listSavedQueries(): SavedQuery[] {
  if (!existsSync(queriesDir)) return [];
  return readdirSync(queriesDir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => {
      const file = join(queriesDir, f);
      const sql = readFileSync(file, 'utf8');
      const first = sql.split('\n')[0] ?? '';
      return { name: f.slice(0, -4), file, description: first.replace(/^--\s*/, '').trim(), params: parameterNames(sql), sql };
    });
}

export function savedQuery(name: string): SavedQuery | undefined {
  return listSavedQueries().find((q) => q.name === name);
}

/** `:name` parameters of a statement, outside string literals, quoted names and comments. */
export function parameterNames(sql: string): string[] {
  const bare = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
  return [...new Set([...bare.matchAll(/(?<![\w:]):([A-Za-z_]\w*)/g)].map((m) => m[1]))];
}

const looksLikeName = (s: string) => /^[A-Za-z0-9][\w-]*$/.test(s.trim());

/**
 * Runs `sqlOrName` (SQL text, or the name of a file in results/queries/) read-only.
 * `params` bind `:name` placeholders; `:sweep` takes whatever names a sweep elsewhere (an id,
 * a promoted tag, an experiment name or run tag: Store.findSweep), bound as that sweep's id.
 */
export function executeQuery(dbPath: string, sqlOrName: string, params: Record<string, string> = {}): QueryResult {
  const saved = looksLikeName(sqlOrName) ? savedQuery(sqlOrName.trim()) : undefined;
  if (looksLikeName(sqlOrName) && !saved) {
    throw new UserError(`no saved query named "${sqlOrName.trim()}"`, {
      location: { file: queriesDir },
      value: sqlOrName,
      hint: `saved queries: ${listSavedQueries().map((q) => q.name).join(', ') || 'none'}; or give a full SQL statement`,
    });
  }
  const sql = saved ? saved.sql : sqlOrName;
  const store = openStore(dbPath, { readonly: true });
  try {
    const stmt = prepare(store.db, sql, store.path, saved?.file);
    if (!stmt.readonly) {
      throw new UserError('refused: the database is opened read-only and this statement would change it; nothing was changed', {
        location: { file: store.path },
        value: sql.trim(),
        hint: 'sweep query runs SELECT (and other read-only) statements; results are written only by sweeps',
      });
    }
    const bindings = bind(sql, params, saved !== undefined, (ref) => store.findSweep(ref).id);
    try {
      if (!stmt.reader) {
        stmt.run(bindings);
        return { columns: [], rows: [] };
      }
      const columns = stmt.columns().map((c) => c.name);
      const rows = stmt.raw(true).all(bindings) as unknown[][];
      return { columns, rows };
    } catch (err) {
      throw sqlError(err, store.path, sql, saved?.file);
    }
  } finally {
    store.close();
  }
}

/** `nullText`: how NULL reads in a table ('NULL' for SQL typed in; '-' for saved queries, which are read as reports). */
export function formatQueryResult(result: QueryResult, format: QueryFormat, nullText = 'NULL'): string {
  switch (format) {
    case 'table':
      return formatTable(result.columns, result.rows, { rowCount: true, nullText, alignRight: ['img_s', 'ci95_img_s'] });
    case 'csv':
      return toCsv(result.columns, result.rows);
    case 'json': {
      const objects = result.rows.map((r) =>
        Object.fromEntries(result.columns.map((c, i) => [c, Buffer.isBuffer(r[i]) ? (r[i] as Buffer).toString('base64') : r[i]])),
      );
      return JSON.stringify(objects, null, 2) + '\n';
    }
  }
}

/** What `sweep query` prints. */
export function runQuery(dbPath: string, sqlOrName: string, format: QueryFormat = 'table', params: Record<string, string> = {}): string {
  if (!QUERY_FORMATS.includes(format)) {
    throw new UserError('unknown output format', { value: format, hint: `use one of: ${QUERY_FORMATS.join(', ')}` });
  }
  const saved = looksLikeName(sqlOrName) && savedQuery(sqlOrName.trim()) !== undefined;
  return formatQueryResult(executeQuery(dbPath, sqlOrName, params), format, saved ? '-' : 'NULL');
}

function prepare(db: Database.Database, sql: string, dbFile: string, savedFile: string | undefined): Database.Statement {
  if (!sql.trim()) throw new UserError('empty SQL statement', { hint: 'give one SQL statement, or the name of a saved query' });
  try {
    return db.prepare(sql);
  } catch (err) {
    throw sqlError(err, dbFile, sql, savedFile);
  }
}

function sqlError(err: unknown, dbFile: string, sql: string, savedFile: string | undefined): UserError {
  const message = err instanceof Error ? err.message : String(err);
  const multi = /more than one statement/.test(message);
  return new UserError(multi ? 'one SQL statement at a time' : `SQL error: ${message}`, {
    location: { file: savedFile ?? dbFile },
    value: sql.trim(),
    hint: multi
      ? 'run each statement with its own `sweep query`'
      : 'the `results` view has one row per point; tables: hosts, sweeps, points, instances',
    cause: err,
  });
}

function bind(
  sql: string,
  given: Record<string, string>,
  optional: boolean,
  resolveSweep: (ref: string) => number,
): Record<string, string | number | null> {
  const names = parameterNames(sql);
  const unknown = Object.keys(given).filter((k) => !names.includes(k));
  if (unknown.length) {
    throw new UserError(`parameter${unknown.length > 1 ? 's' : ''} not used by this query: ${unknown.join(', ')}`, {
      value: unknown,
      hint: names.length ? `it takes: ${names.map((n) => ':' + n).join(', ')}` : 'it takes no parameters',
    });
  }
  const out: Record<string, string | number | null> = {};
  for (const name of names) {
    const value = given[name];
    if (value === undefined) {
      if (!optional) {
        throw new UserError(`the query uses :${name} and no value was given`, { value: name, hint: `pass --param ${name}=VALUE` });
      }
      out[name] = null;
    } else {
      out[name] = name === 'sweep' ? resolveSweep(value) : value;
    }
  }
  return out;
}
