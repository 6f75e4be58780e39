import type { ErrorObject } from 'ajv';
import type { Document, LineCounter } from 'yaml';
import { UserError, formatLocation, type ErrorLocation } from '../../common/errors.js';
import { nearest } from '../../common/nearest.js';
import { formatPath, locate, pointerSegments, positionOf, type PathSegment } from './yaml-locate.js';

// Turns ajv's errors into one UserError that points at the YAML: file:line:column, the key
// path, the offending value, and for misspelt keys or values the nearest valid one.

export interface Problem {
  message: string;
  location: ErrorLocation;
  value: unknown;
  hint?: string;
  /** Offset order in the file, to report the first problem first. */
  order: number;
}

export interface YamlSource {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
  /** The data ajv validated (defaults filled in). */
  data: unknown;
}

/** Where a key path is written: file, line:column of its value (or of its key), and the path. */
export function locationOf(src: YamlSource, path: readonly PathSegment[], atKey = false): { location: ErrorLocation; offset: number } {
  const found = locate(src.doc, path);
  const node = atKey && found.complete && found.key ? found.key : found.node;
  const pos = positionOf(node, src.lineCounter);
  const location: ErrorLocation = { file: src.file, at: formatPath(path) || undefined };
  if (pos) {
    location.line = pos.line;
    location.column = pos.column;
  }
  return { location, offset: node?.range?.[0] ?? Infinity };
}

/** A problem at a key path of the document (used for schema and for semantic checks). */
export function problemAt(
  src: YamlSource,
  path: readonly PathSegment[],
  message: string,
  opts: { value?: unknown; hint?: string; atKey?: boolean } = {},
): Problem {
  const { location, offset } = locationOf(src, path, opts.atKey);
  const problem: Problem = { message, location, value: opts.value, order: offset };
  if (opts.hint !== undefined) problem.hint = opts.hint;
  return problem;
}

/** The first problem (in file order) as a UserError; the others are listed in its hint. */
export function toUserError(problems: Problem[]): UserError {
  const sorted = [...problems].sort((a, b) => a.order - b.order);
  const [first, ...rest] = sorted;
  if (!first) throw new Error('toUserError: no problems');
  const hints = first.hint ? [first.hint] : [];
  if (rest.length > 0) {
    // Continuation lines are indented to sit under the CLI's "  hint: " prefix.
    hints.push(`${first.hint ? '        ' : ''}${rest.length} more problem${rest.length > 1 ? 's' : ''}:`);
    for (const p of rest) hints.push(`          ${formatLocation(p.location)}: ${p.message}${p.value !== undefined ? ` (value: ${show(p.value)})` : ''}`);
  }
  return new UserError(first.message, {
    location: first.location,
    value: first.value,
    hint: hints.length > 0 ? hints.join('\n') : undefined,
  });
}

export function schemaProblems(src: YamlSource, errors: readonly ErrorObject[]): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const e of errors) {
    // Wrapper errors ('if' failed because 'then' did) and the per-name errors under
    // propertyNames (reported by the propertyNames error itself) add nothing.
    if (e.keyword === 'if' || e.schemaPath.includes('/propertyNames/')) continue;
    const p = describe(src, e);
    const id = `${p.location.at}|${p.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(p);
  }
  return out;
}

function describe(src: YamlSource, e: ErrorObject): Problem {
  const path = pointerSegments(e.instancePath, src.data);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const allowed = Object.keys((e.parentSchema?.['properties'] as Record<string, unknown> | undefined) ?? {});
      const guess = nearest(key, allowed);
      const hint = guess ? `did you mean '${guess}'?` : `known keys here: ${allowed.join(', ')}`;
      return problemAt(src, [...path, key], `unknown key '${key}'`, { value: key, hint, atKey: true });
    }
    case 'propertyNames': {
      const key = String(params['propertyName']);
      const pattern = (e.parentSchema?.['propertyNames'] as { pattern?: string } | undefined)?.pattern;
      const rule = pattern?.startsWith('^[A-Za-z_]') ? 'letters, digits and _, not starting with a digit' : "letters, digits, '.', '_' and '-'";
      return problemAt(src, [...path, key], `invalid name '${key}': use ${rule}`, { value: key, atKey: true });
    }
    case 'required': {
      const key = String(params['missingProperty']);
      const where = formatPath(path);
      return problemAt(src, path, `missing required key '${key}'${where ? ` in ${where}` : ''}`);
    }
    case 'minProperties': {
      const where = formatPath(path);
      const known = Object.keys((e.parentSchema?.['properties'] as Record<string, unknown> | undefined) ?? {});
      return problemAt(src, path, `${where || 'this section'} is empty: give at least one key, or leave the section out`, { hint: known.length ? `keys here: ${known.join(', ')}` : undefined });
    }
    case 'enum': {
      const allowed = ((params['allowedValues'] as unknown[] | undefined) ?? []).map(String);
      const guess = typeof e.data === 'string' ? nearest(e.data, allowed) : undefined;
      return problemAt(src, path, `must be one of: ${allowed.join(', ')}`, {
        value: e.data,
        hint: guess ? `did you mean '${guess}'?` : undefined,
      });
    }
    case 'type': {
      const want = ([] as string[]).concat(params['type'] as string | string[]).map(typeName);
      return problemAt(src, path, `must be ${orList(want)}, not ${typeName(jsonType(e.data))}`, { value: e.data });
    }
    case 'pattern':
      return problemAt(src, path, patternMessage(String(params['pattern'])), { value: e.data });
    default:
      return problemAt(src, path, e.message ?? `fails ${e.keyword}`, { value: e.data });
  }
}

function patternMessage(pattern: string): string {
  if (pattern === '^(auto|node)$') return "must be a positive integer, 'auto' or 'node'";
  if (pattern.startsWith('^(auto|')) return "must be a positive integer, 'auto' or one '${variable}' (e.g. '${cores_per_instance}')";
  if (pattern.startsWith('^[A-Za-z0-9]')) return "must be letters, digits, '.', '_' or '-'";
  if (pattern.startsWith('^(0[xX])')) return 'must be a hexadecimal microcode revision such as 0xd000389';
  return `must match ${pattern}`;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeName(t: string): string {
  const names: Record<string, string> = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping',
    null: 'empty',
  };
  return names[t] ?? t;
}

function orList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
