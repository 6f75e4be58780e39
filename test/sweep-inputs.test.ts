import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import Database from 'better-sqlite3';
import { canonicalBuiltinSpec, fileSha256, inputHashes } from '../orchestrator/inputs-hash.js';
import { VERDICT_EXPERIMENT } from '../bench/lib/verdict-experiment.js';
import { sweepCli } from '../bench/lib/sweep-cli.js';

// What a sweep measured with: the SHA-256 of its model and data, stored with the sweep; a
// --resume on another model or data (same YAML, a file changed in place) is refused.

const sha = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sweep-inputs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('input hashes', () => {
  it('a builtin model hashes its canonical spec: options sorted by name', () => {
    assert.equal(canonicalBuiltinSpec('builtin:unet2d-decathlon?weights=random&fms=4'), 'builtin:unet2d-decathlon?fms=4&weights=random');
    assert.equal(canonicalBuiltinSpec('builtin:unet2d-buda'), 'builtin:unet2d-buda');
    assert.equal(canonicalBuiltinSpec('model.onnx'), null);
  });

  it('a file hashes its bytes', async () => {
    const file = join(dir, 'bytes.bin');
    writeFileSync(file, 'numa-sweep');
    assert.equal(await fileSha256(file), sha('numa-sweep'));
    const builtin = sha('builtin:unet2d-decathlon?fms=4&weights=random');
    const both = await inputHashes([{ id: 'm', spec: 'builtin:unet2d-decathlon?weights=random&fms=4' }], file);
    assert.deepEqual(both, { model_sha256: builtin, data_sha256: sha('numa-sweep'), models: { m: builtin } });
  });

  it('several models: each hashed, the sweep hashes their "ID SHA256" lines sorted by id', async () => {
    const file = join(dir, 'model.onnx');
    writeFileSync(file, 'onnx bytes');
    const builtin = sha('builtin:unet2d-decathlon');
    const hashes = await inputHashes([{ id: 'unet2d-decathlon', spec: 'builtin:unet2d-decathlon' }, { id: 'model', spec: file }], file);
    assert.deepEqual(hashes.models, { 'unet2d-decathlon': builtin, model: sha('onnx bytes') });
    assert.equal(hashes.model_sha256, sha(`model ${sha('onnx bytes')}\nunet2d-decathlon ${builtin}\n`));
  });
});

const sweep = (args: string[]) => sweepCli(args, dir);

describe('a sweep stores its inputs; --resume refuses other ones', () => {
  it('stores both hashes, and refuses to resume once the data file changed in place', () => {
    const data = join(dir, 'data.h5');
    assert.equal(sweep(['data', 'synth', '--out', data, '--testing', '8', '--seed', '1']).code, 0);
    // experiments/verdict.yaml on this file, one point: quick.
    const exp = parse(readFileSync(VERDICT_EXPERIMENT, 'utf8')) as { workload: { data: unknown }; matrix: Record<string, unknown>; measurement: Record<string, unknown> };
    exp.workload.data = data;
    exp.measurement = { ...exp.measurement, repeats: 1, max_repeats: 1 };
    exp.matrix['instances'] = 1;
    const file = join(dir, 'on-file.yaml');
    writeFileSync(file, stringify(exp));
    const db = join(dir, 'sweeps.db');
    const first = sweep([file, '--db', db, '--allowed-cpus', '0-1']);
    assert.equal(first.code, 0, first.stderr);

    const conn = new Database(db, { readonly: true });
    const stored = conn.prepare('SELECT model_sha256, data_sha256 FROM sweeps').get() as { model_sha256: string; data_sha256: string };
    conn.close();
    assert.deepEqual(stored, { model_sha256: sha('builtin:unet2d-decathlon?fms=4&weights=random'), data_sha256: sha(readFileSync(data)) });

    assert.equal(sweep(['data', 'synth', '--out', data, '--testing', '8', '--seed', '2']).code, 0);
    const resumed = sweep([file, '--db', db, '--allowed-cpus', '0-1', '--resume', '1']);
    assert.equal(resumed.code, 2, resumed.stderr);
    assert.match(resumed.stderr, /sweep 1 was measured on another model or data/);
    assert.match(resumed.stderr, new RegExp(`data_sha256 "${stored.data_sha256}" -> "[0-9a-f]{64}"`));
  });
});
