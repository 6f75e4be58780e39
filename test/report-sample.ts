import type { ReportInput, ReportPoint, ReportPreview } from '../results/report/types.js';

// A made-up sweep shaped like the reference benchmark's plan (batch 1 and 128, with and without
// numactl, default and optimized profile, 1/2/4 instances) on a 40-core host, with one failed
// point and phantom previews. Tests use it; it is also handy to look at the page's layout.
// The numbers are invented, not measured.

interface Row {
  bs: number;
  inst: number;
  binding: 'none' | 'numactl';
  profile: 'default' | 'optimized';
  ips: number | null;
  error?: string;
}

const ROWS: Row[] = [
  { bs: 1, inst: 1, binding: 'none', profile: 'default', ips: 19.6 },
  { bs: 1, inst: 1, binding: 'none', profile: 'optimized', ips: 25.8 },
  { bs: 1, inst: 1, binding: 'numactl', profile: 'default', ips: 23.9 },
  { bs: 1, inst: 1, binding: 'numactl', profile: 'optimized', ips: 31.2 },
  { bs: 128, inst: 1, binding: 'numactl', profile: 'default', ips: 54.7 },
  { bs: 128, inst: 1, binding: 'numactl', profile: 'optimized', ips: 80.3 },
  { bs: 128, inst: 2, binding: 'numactl', profile: 'optimized', ips: 151.4 },
  { bs: 128, inst: 4, binding: 'numactl', profile: 'optimized', ips: 268.9 },
  { bs: 128, inst: 4, binding: 'none', profile: 'optimized', ips: null, error: 'binding not applied: planned 0-9, actual 0-39' },
];

const CORES = 40;

function point(r: Row): ReportPoint {
  const cpi = CORES / r.inst;
  const key = `bs=${r.bs},inst=${r.inst},cpi=${cpi},bind=${r.binding},prof=${r.profile},eng=onnxruntime,smt=0`;
  // Per-batch latency of one instance: its batch divided by its share of the throughput.
  const p50 = r.ips === null ? 0 : (1000 * r.bs * r.inst) / r.ips;
  return {
    key,
    model: null,
    params: { batch_size: r.bs, instances: r.inst, cores_per_instance: cpi, binding: r.binding, profile: r.profile, engine: 'onnxruntime', smt: false },
    status: r.ips === null ? 'failed' : 'ok',
    error: r.error ?? null,
    throughput_ips: r.ips,
    latency_ms: r.ips === null ? null : { mean: p50 * 1.03, p50, p90: p50 * 1.12, p99: p50 * 1.35, max: p50 * 1.6 },
    dice: r.ips === null ? null : 0.8612,
    soft_dice: r.ips === null ? null : 0.8437,
    warnings: r.binding === 'none' && r.ips !== null ? ['not bound: the kernel may move threads across sockets'] : [],
    throughput_ci: r.ips === null ? null : { low: r.ips * 0.98, high: r.ips * 1.02, method: 'batch-means', samples: 10 },
    suspect_reasons: r.binding === 'none' && r.ips !== null ? ['repeat 0 instance 0: foreign load 7.2% of its 40 CPU(s) (limit 5.0%)'] : [],
    validity:
      r.ips === null
        ? { foreign_max: null, steal_max: null, cpu_mhz: null, threads: null }
        : { foreign_max: r.binding === 'none' ? 0.072 : 0.004, steal_max: 0, cpu_mhz: 2300, threads: `${cpi}/${cpi}` },
  };
}

/** A brain-like ellipse with a bright lesion, its mask, and a blurred, shifted prediction. */
export function phantomPreview(index: number, size = 144, channels = 4): ReportPreview {
  const image = new Float32Array(size * size * channels);
  const mask = new Float32Array(size * size);
  const prediction = new Float32Array(size * size);
  const c = size / 2;
  const lx = c + ((index * 7) % 30) - 15;
  const ly = c + ((index * 13) % 24) - 12;
  const lr = size * (0.09 + (index % 5) * 0.01);
  let inter = 0;
  let sum = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const brain = ((x - c) / (size * 0.38)) ** 2 + ((y - c) / (size * 0.45)) ** 2;
      const d = Math.hypot(x - lx, y - ly) / lr;
      const inBrain = brain < 1 ? 1 : 0;
      const texture = 0.15 * Math.sin(x * 0.35) * Math.cos(y * 0.27);
      for (let ch = 0; ch < channels; ch++) {
        image[(y * size + x) * channels + ch] = inBrain * (0.9 + texture + ch * 0.1) + (d < 1 ? 1.2 : 0) - 0.4;
      }
      const m = d < 1 ? 1 : 0;
      const p = 1 / (1 + Math.exp(10 * (Math.hypot(x - lx - 2, y - ly + 1) / lr - 1)));
      mask[y * size + x] = m;
      prediction[y * size + x] = p;
      const hard = p > 0.5 ? 1 : 0;
      inter += hard * m;
      sum += hard + m;
    }
  }
  return { index, height: size, width: size, channels, image, mask, prediction, dice: (2 * inter + 0.01) / (sum + 0.01) };
}

export function sampleReportInput(): ReportInput {
  return {
    sweep: {
      id: 7,
      name: 'unet-2d-reference-plan',
      tag: 'nightly',
      host: 'bench-2s-40c',
      started_at: '2025-01-14T22:00:03.120Z',
      ended_at: '2025-01-14T22:41:37.904Z',
      status: 'completed',
      experiment_sha256: '4f8d0c2b9a6e1f3d5c7b9a0e2d4f6a8c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f',
      tool_version: '0.1.0',
      host_facts: {
        cpu_model: 'Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz',
        sockets: 2,
        cores: 40,
        threads: 80,
        numa: [
          { id: 0, memory_mb: 96 * 1024, cpus: '0-19,40-59' },
          { id: 1, memory_mb: 96 * 1024, cpus: '20-39,60-79' },
        ],
        kernel: '6.1.0-27-amd64',
        os: 'Debian GNU/Linux 12 (bookworm)',
      },
      host_configuration: {
        bios: { vendor: 'Dell Inc.', version: '2.14.1', date: '12/17/2021' },
        system: { manufacturer: 'Dell Inc.', product: 'PowerEdge R640', serial: null, uuid: null },
        board: { manufacturer: null, product: null, serial: null },
        ppin: null,
        dimms: null,
        smt: 'on',
        turbo: 'on',
        governor: 'performance',
        thp: 'madvise',
        kernelCmdline: 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 root=UUID=0b7e5a4e-1f7e-4c1e-9a53-6d1b1f0e2a11 ro quiet',
        numaBalancing: '0',
      },
      planned_points: 9,
      skipped: [],
    },
    points: ROWS.map(point),
    previews: [40, 63, 43].map((i) => phantomPreview(i)),
  };
}

const HOSTILE = '<script>alert("x")</script>';

/** The sample sweep with markup wherever a string reaches the page, for escaping tests. */
export function hostileReportInput(): ReportInput {
  const input = sampleReportInput();
  input.sweep.name = `nightly ${HOSTILE}`;
  input.sweep.tag = `"><img src=x onerror=alert(1)>`;
  input.sweep.host = `host & <b>co</b>`;
  input.sweep.status = `completed" onmouseover="alert(1)`;
  input.sweep.experiment_sha256 = `</code>${HOSTILE}`;
  input.points[0]!.params['engine'] = `<svg onload=alert(1)>`;
  input.points[0]!.params['custom_axis'] = `'quoted'`;
  input.points[0]!.key = `bs=1,"><iframe src=x>`;
  input.points[8]!.error = `</td></tr></table>${HOSTILE}`;
  input.points[1]!.warnings.push(`<style>body{display:none}</style>`);
  return input;
}
