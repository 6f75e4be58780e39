import { isAlias, isMap, isPair, isScalar, isSeq, Parser, visit, type Document, type LineCounter, type Node } from 'yaml';

// Finds where a value sits in the YAML text, so errors about parsed data point at line:column.

export type PathSegment = string | number;

export interface Position {
  line: number;
  column: number;
}

/** Segments of an ajv instancePath ("/matrix/binding/1"), numbers where the data holds an array. */
export function pointerSegments(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      const i = Number(seg);
      out.push(i);
      cur = cur[i];
    } else {
      out.push(seg);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

/** "matrix.include[2].binding"; keys that are not plain words are quoted. */
export function formatPath(path: readonly PathSegment[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) s += s ? `.${seg}` : seg;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}

export interface Located {
  /** The node of the deepest segment found (the value; for `key: true` the key itself). */
  node: Node | null;
  /** The key node when the last segment found was a map key. */
  key: Node | null;
  /** Whether every segment was found (false when a default filled in the missing part). */
  complete: boolean;
}

/** Walks the document along `path`; stops at the deepest node that exists. */
export function locate(doc: Document, path: readonly PathSegment[]): Located {
  let node = resolve(doc, doc.contents as Node | null);
  let key: Node | null = null;
  for (const seg of path) {
    let next: Node | null | undefined;
    let nextKey: Node | null = null;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
      if (pair) {
        nextKey = pair.key as Node;
        next = resolve(doc, (pair.value as Node | null) ?? null) ?? nextKey;
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      next = resolve(doc, (node.items[seg] as Node | undefined) ?? null);
    }
    if (!next) return { node, key, complete: false };
    node = next;
    key = nextKey;
  }
  return { node, key, complete: true };
}

/** The 1-based line and column where a node starts. */
export function positionOf(node: Node | null, lineCounter: LineCounter): Position | undefined {
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function resolve(doc: Document, node: Node | null): Node | null {
  if (node && isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? node;
  return node;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

/**
 * Where the quoted scalar that runs on to `errorOffset` opens: YAML reports a missing closing
 * quote where the text ends, while the mistake is where the quote opened.
 */
export function openingQuoteBefore(text: string, errorOffset: number): number | undefined {
  let found: number | undefined;
  const walk = (token: unknown): void => {
    if (found !== undefined || token === null || typeof token !== 'object') return;
    if (Array.isArray(token)) return token.forEach(walk);
    const t = token as { type?: string; offset?: number; source?: string };
    const quoted = t.type === 'double-quoted-scalar' || t.type === 'single-quoted-scalar';
    if (quoted && t.offset !== undefined && t.source !== undefined && t.offset <= errorOffset && t.offset + t.source.length >= errorOffset) {
      found = t.offset;
      return;
    }
    for (const value of Object.values(token)) walk(value);
  };
  for (const token of new Parser().parse(text)) walk(token);
  return found;
}

/** Offset of the first alias (*name) in the document, to point at when aliases expand too far. */
export function firstAliasOffset(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}
