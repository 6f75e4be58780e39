import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { packagePath } from '../../common/paths.js';

// schemas/experiment.schema.json, compiled once. The schema is also the one list of known
// engine names: the orchestrator never imports engine code to learn them.

export const schemaFile = packagePath('schemas', 'experiment.schema.json');

interface SchemaShape {
  $defs: { engine: { enum: string[] }; binding: { enum: string[] } };
  properties: { matrix: { properties: Record<string, { default?: unknown }> } };
}

let cached: { schema: SchemaShape; validate: ValidateFunction } | undefined;

function load(): { schema: SchemaShape; validate: ValidateFunction } {
  if (!cached) {
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as SchemaShape;
    // useDefaults: the schema's `default`s are the documented defaults, filled in here.
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, verbose: true, allowUnionTypes: true });
    cached = { schema, validate: ajv.compile(schema) };
  }
  return cached;
}

/** Validates (and fills defaults into) parsed experiment data. */
export function experimentValidator(): ValidateFunction {
  return load().validate;
}

/** Engine names an experiment may use (schema enum). */
export function knownEngines(): readonly string[] {
  return load().schema.$defs.engine.enum;
}

/** The default value of each matrix axis (schema `default`s), e.g. { binding: 'none', ... }. */
export function axisDefaults(): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [axis, def] of Object.entries(load().schema.properties.matrix.properties)) {
    const v = def.default;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[axis] = v;
  }
  return out;
}
