import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../common/errors.js';

// Argument parsing shared by every command: unknown or malformed options are bad input (exit 2)
// with the command's usage named, and numbers are checked where they are read.

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(command: string, argv: string[], options: OptionSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    throw new UserError((err as Error).message, { hint: `see 'sweep ${command} --help'` });
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** A repeatable option's values, in the order given; [] when absent. */
export function list(p: Parsed, name: string): string[] {
  const v: unknown = p.values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}

/** A whole number option, with its bounds; undefined when absent. */
export function int(p: Parsed, name: string, min = 0): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
    throw new UserError(`--${name} takes a whole number >= ${min}`, { value: v });
  }
  return n;
}

export function num(p: Parsed, name: string, min = 0): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new UserError(`--${name} takes a number >= ${min}`, { value: v });
  return n;
}

export function oneOf<T extends string>(p: Parsed, name: string, allowed: readonly T[], fallback: T): T {
  const v = str(p, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UserError(`--${name} must be one of ${allowed.join(', ')}`, { value: v });
  }
  return v as T;
}

export function needPositional(p: Parsed, index: number, what: string, command: string): string {
  const v = p.positionals[index];
  if (v === undefined) throw new UserError(`missing ${what}`, { hint: `see 'sweep ${command} --help'` });
  return v;
}
