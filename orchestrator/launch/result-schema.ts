import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { packagePath } from '../../common/paths.js';

// Every runner result is checked against schemas/runner-result.schema.json as it arrives: a
// runner of another version, or one that reports nonsense, fails its point with the field
// named instead of storing figures nobody can trust.

export const resultSchemaFile = packagePath('schemas', 'runner-result.schema.json');

let cached: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!cached) {
    const schema = JSON.parse(readFileSync(resultSchemaFile, 'utf8')) as object;
    cached = new Ajv2020({ allErrors: true, allowUnionTypes: true }).compile(schema);
  }
  return cached;
}

function describe(e: ErrorObject): string {
  const field = e.instancePath === '' ? '(the result)' : e.instancePath.slice(1).replace(/\//g, '.');
  if (e.keyword === 'required') return `${field === '(the result)' ? '' : `${field}.`}${String(e.params.missingProperty)} is missing`;
  if (e.keyword === 'additionalProperties') return `${field} has an unknown field ${String(e.params.additionalProperty)}`;
  return `${field} ${e.message ?? 'is invalid'}`;
}

/** Null when the event is a valid result; otherwise what is wrong, each problem naming its field. */
export function resultProblems(event: unknown): string | null {
  const validate = validator();
  if (validate(event)) return null;
  const problems = (validate.errors ?? []).map(describe);
  return `result does not match schemas/runner-result.schema.json: ${[...new Set(problems)].join('; ')}`;
}
