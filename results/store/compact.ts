import { deflateRawSync, inflateRawSync } from 'node:zlib';

// The compact form of an instance row (issue: a fleet database grew about 44 KB per host and
// night). Rows written from this version on hold:
// - `result`, `argv`, `env`: JSON deflated against a preset dictionary (below), tagged by a
//   first byte; what a runner reports repeats from instance to instance, so 1.8 KB of result
//   text becomes about 0.2 KB. Read back byte for byte.
// - `latency_samples`: each per-batch latency on a logarithmic scale of 1/1024 octave (a
//   relative step of 0.068 %, so each value within 0.034 % of what was measured, far below a
//   timer's and a machine's noise; 0 stays 0), as 16-bit codes, deflated. Quantiles and any
//   bootstrap over them move by the same bound (docs/measurements.md measures it). Deflated
//   when that is shorter (long windows), as they are otherwise.
// - `batch_ends`: the gaps between batch ends in whole microseconds (the clock's resolution), as
//   variable-length integers, deflated: exact to 1 us.
// A row is compact when its `result` is a BLOB (a row stored before is TEXT there): every reader
// goes through records.ts, which reads both.

const JSON_V1 = 1;
const LATENCY_V1 = 2;
const ENDS_V1 = 3;
/** The same codes as LATENCY_V1 and ENDS_V1, not deflated: a short window's few bytes deflate to more. */
const LATENCY_RAW_V1 = 4;
const ENDS_RAW_V1 = 5;

/** The bytes deflated or as they are, whichever is shorter, tagged so. */
function packed(deflatedTag: number, rawTag: number, bytes: Buffer): Buffer {
  const z = deflateRawSync(bytes, { level: 9 });
  return z.length < bytes.length ? tagged(deflatedTag, z) : tagged(rawTag, bytes);
}

function unpacked(blob: Buffer, deflatedTag: number, rawTag: number, what: string): Buffer {
  if (blob[0] === deflatedTag) return inflateRawSync(blob.subarray(1));
  if (blob[0] === rawTag) return blob.subarray(1);
  throw new Error(`${what}: unknown compact encoding ${blob[0]}`);
}

/**
 * The preset dictionary of JSON_V1: a runner's result, argv and env as a sweep stores them (the
 * strings deflate can refer back to). Fixed for ever: rows written with it are read with it.
 */
const DICTIONARY_V1 = Buffer.from(
  '{"OMP_NUM_THREADS":"1","KMP_BLOCKTIME":"0","KMP_AFFINITY":"granularity=fine,compact,1,0"}' +
    '["numactl","--physcpubind=0-1","--membind=0","/usr/bin/node","/opt/numa-sweep/dist/runner/main.js","--job",' +
    '"{\\"model\\":\\"builtin:unet2d-decathlon\\",\\"data\\":\\"/var/lib/numa-sweep/data/synthetic-v1-seed7-testing8.h5\\",' +
    '\\"split\\":\\"testing\\",\\"images\\":8,\\"skip\\":0,\\"batchSize\\":1,\\"engine\\":\\"onnxruntime\\",\\"threads\\":{\\"intra\\":1,\\"inter\\":1},' +
    '\\"warmupBatches\\":1,\\"minSeconds\\":10,\\"minBatches\\":10,\\"barrier\\":true,' +
    '\\"modelFile\\":\\"/var/lib/numa-sweep/models/unet2d-decathlon-fp32-0123456789abcdef.onnx\\"}"]' +
    '{"event":"result","engine":"onnxruntime","engine_version":"1.30.0","model":{"spec":"builtin:unet2d-decathlon","name":"unet2d-decathlon",' +
    '"weights":"trained","params":7759521,"gflop_per_image":7.6,"input_shape":[144,144,4]},"batch_size":1,"images":38,"batches":19,' +
    '"seconds":0.2,"throughput_ips":186.4,"latency_ms":{"mean":9.8,"p50":8.25,"p90":14.8,"p99":22.1,"max":22.9},' +
    '"dice":0.87,"soft_dice":0.86,"dice_images":8,"dice_by_slice":{"with_tumour":{"dice":0.8,"soft_dice":0.8,"images":4},' +
    '"without_tumour":{"dice":0.9,"soft_dice":0.9,"images":4}},"affinity":{"cpus":[0,1],"mems":[0],"mem_policy":"bind"},' +
    '"threads":{"intra":1,"inter":1},"knobs":{"applied":{"threads.intra":"1","threads.inter":"1 (sequential execution)",' +
    '"executionMode":"sequential"},"ignored":{"OMP_NUM_THREADS":"1: onnxruntime\'s CPU execution provider uses its own thread pools ' +
    '(set threads.intra / threads.inter)","KMP_BLOCKTIME":"0: onnxruntime\'s CPU execution provider uses its own thread pools ' +
    '(set threads.intra / threads.inter)"}},"rss_peak_mb":157.1,"numa_pages":{"page_kb":4,"by_node":{"0":23015},"mappings":126},' +
    '"window":{"start":"2026-12-08T00:16:04.835Z","end":"2026-12-08T00:16:05.039Z","start_ms":1796688964835.9,"end_ms":1796688965039.7},' +
    '"monitors":{"cpu_time_ms":89.5,"cpus":{"busy_ms":210,"steal_ms":0,"total_ms":210},"siblings":null,"cpu_mhz":2596.1,' +
    '"cpu_mhz_source":"cpuinfo","governor":"performance","throttle":null,"threads":{"total":13,"busy":1}},"precision":"fp32",' +
    '"calibration":null,"startup":{"load_seconds":0.39,"warmup_seconds":0.01,' +
    '"model_file":"/var/lib/numa-sweep/models/unet2d-decathlon-fp32-0123456789abcdef.onnx"}}',
  'utf8',
);

const tagged = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), body]);

function untag(blob: Buffer, tag: number, what: string): Buffer {
  if (blob[0] !== tag) throw new Error(`${what}: unknown compact encoding ${blob[0]}`);
  return blob.subarray(1);
}

export function encodeJson(value: unknown): Buffer {
  return tagged(JSON_V1, deflateRawSync(Buffer.from(JSON.stringify(value), 'utf8'), { level: 9, dictionary: DICTIONARY_V1 }));
}

/** A JSON column as stored: TEXT (rows before the compact form) or a tagged BLOB. */
export function decodeJson(stored: unknown): unknown {
  if (Buffer.isBuffer(stored)) return JSON.parse(inflateRawSync(untag(stored, JSON_V1, 'JSON column'), { dictionary: DICTIONARY_V1 }).toString('utf8'));
  return JSON.parse(String(stored));
}

/** Whether a row's columns are in the compact form (its result column is a BLOB). */
export function isCompactRow(result: unknown): boolean {
  return Buffer.isBuffer(result);
}

const STEPS_PER_OCTAVE = 1024;
/** Codes start at 2^-20 ms; 65535 codes reach past 2^43 ms. */
const OFFSET_OCTAVES = 20;

/** The code of one latency in ms: 0 for 0, else its place on the 1/1024-octave scale. */
export function latencyCode(ms: number): number {
  if (!(ms > 0)) return 0;
  const code = Math.round((Math.log2(ms) + OFFSET_OCTAVES) * STEPS_PER_OCTAVE) + 1;
  return Math.min(65535, Math.max(1, code));
}

export function latencyOfCode(code: number): number {
  return code === 0 ? 0 : 2 ** ((code - 1) / STEPS_PER_OCTAVE - OFFSET_OCTAVES);
}

export function encodeLatencies(samples: readonly number[]): Buffer {
  const codes = Buffer.alloc(samples.length * 2);
  samples.forEach((v, i) => codes.writeUInt16LE(latencyCode(v), i * 2));
  return packed(LATENCY_V1, LATENCY_RAW_V1, codes);
}

export function decodeLatencies(blob: Buffer): number[] {
  const codes = unpacked(blob, LATENCY_V1, LATENCY_RAW_V1, 'latency samples');
  const out = new Array<number>(codes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = latencyOfCode(codes.readUInt16LE(i * 2));
  return out;
}

/** Batch ends (ms after the window's start, ascending) as microsecond gaps in LEB128 varints. */
export function encodeBatchEnds(ends: readonly number[]): Buffer {
  const bytes: number[] = [];
  let previous = 0;
  for (const ms of ends) {
    const us = Math.max(0, Math.round(ms * 1000));
    let gap = Math.max(0, us - previous);
    previous = us;
    while (gap >= 0x80) {
      bytes.push((gap % 0x80) | 0x80);
      gap = Math.floor(gap / 0x80);
    }
    bytes.push(gap);
  }
  return packed(ENDS_V1, ENDS_RAW_V1, Buffer.from(bytes));
}

export function decodeBatchEnds(blob: Buffer): number[] {
  const bytes = unpacked(blob, ENDS_V1, ENDS_RAW_V1, 'batch ends');
  const out: number[] = [];
  let us = 0;
  for (let i = 0; i < bytes.length; ) {
    let gap = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[i++]!;
      gap += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
    }
    us += gap;
    out.push(us / 1000);
  }
  return out;
}
