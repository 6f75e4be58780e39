import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { UserError, formatLocation, isUserError, type ErrorLocation } from '../common/errors.js';
import type { LoadedModel } from '../runner/model/graph.js';
import type { Split } from '../runner/job.js';
import { loadModel } from '../runner/model/presets.js';
import { modelInfo } from '../runner/model/info.js';
import { describeSplitOf, expectModelInput, readSlices } from '../runner/data/decathlon.js';
import { DATASETS } from '../runner/data/layout.js';
import { CHANNELS } from '../runner/data/phantom.js';
import { SYNTHETIC_SIZE } from '../runner/data/synth.js';
import type { Experiment } from './experiment/types.js';
import type { Plan, PlannedPoint } from './plan.js';
import type { Topology } from '../common/topology.js';
import { requireDataFile } from './data-files.js';
import { pointModel } from './experiment/models.js';
import { checkDataFile, checkModelFile } from '../runner/untrusted/bounded.js';

// Preflight: before a sweep (or `sweep infer`) writes or launches anything, the model and the
// data are opened once here and everything a runner would otherwise find too late is checked:
// the model loads; the data file is readable HDF5 in the decathlon layout with the right
// element types; skip + images fits the split; the model takes the data's image size and
// channels; the first and last rows to be used can be read; and the memory each point's
// instances will need fits the memory of the NUMA nodes they are bound to (or the machine's).
// Every problem is a UserError (exit 2) saying which file, what is wrong and what to change.

/** What a runner will hold, found once: the data's per-image shape and the model's size. */
export interface WorkloadFacts {
  /** H, W, C of one image. */
  shape: [number, number, number];
  /** Images each instance loads. */
  images: number;
  params: number;
  /** Sum of every layer's output per image, in bytes; null where the model does not say (ONNX files). */
  activationBytesPerImage: number | null;
}

/** Where each input came from, so errors point at what the user wrote. */
export interface InputSources {
  model: string;
  /** The model's id in an experiment (its model axis): named when it does not load. */
  modelId?: string;
  modelAt: ErrorLocation;
  data: { path: string } | { synthetic: { testing: number } };
  dataAt: ErrorLocation;
  split: Split;
  skip: number;
  images: number;
  /** How to change images and skip, in the user's terms ("workload.images in x.yaml", "--images"). */
  imagesHint: string;
}

// The memory model of one runner, calibrated against the peak RSS (VmHWM) of real onnxruntime
// runners at batch 1 to 512 and two model sizes: docs/measurements.md has the figures and the
// command. Figures are MiB; where measurements differed, the larger share is used, so the
// estimate is not below any peak measured.
/** Node, the runner's code and the engine's library, before any model or data (measured 132). */
const RUNTIME_MB = 132;
/** Copies of the weights alive at the peak: the file as read, the graph, the ONNX bytes, the engine's own (measured 4.45). */
const WEIGHT_COPIES = 4.5;
/** Loaded images and masks are held twice: the HDF5 library's buffer and the runner's arrays (measured 1.84). */
const IMAGE_COPIES = 2;
/**
 * Batch input, output and engine workspace per image, as a share of the sum of all layer
 * outputs: measured 0.80 while they stay under about 2 GiB, 1.00 to 1.05 above (the engine's
 * memory arena grows in large steps).
 */
const WORKSPACE_SHARE = 1.05;
/** The most elements one typed array may hold (Node 20): a batch or the loaded images beyond it cannot be allocated. */
const MAX_ARRAY_ELEMENTS = 2 ** 32 - 1;

const MIB = 2 ** 20;

export interface MemoryNeed {
  totalMb: number;
  parts: { runtimeMb: number; modelMb: number; imagesMb: number; batchMb: number };
  /** The model does not say how large its activations are (an ONNX file): the batch part is only its input and output. */
  lowerBound: boolean;
}

/** The memory one instance needs at `batchSize` (see the calibration above). */
export function instanceMemory(facts: WorkloadFacts, batchSize: number): MemoryNeed {
  const [h, w, c] = facts.shape;
  const imageBytes = h * w * c * 4;
  const maskBytes = h * w * 4;
  const perImage = facts.activationBytesPerImage === null ? imageBytes + maskBytes : WORKSPACE_SHARE * facts.activationBytesPerImage;
  const parts = {
    runtimeMb: RUNTIME_MB,
    modelMb: (WEIGHT_COPIES * facts.params * 4) / MIB,
    imagesMb: (IMAGE_COPIES * facts.images * (imageBytes + maskBytes)) / MIB,
    batchMb: (batchSize * perImage) / MIB,
  };
  return { totalMb: parts.runtimeMb + parts.modelMb + parts.imagesMb + parts.batchMb, parts, lowerBound: facts.activationBytesPerImage === null };
}

/** The largest batch size whose instances fit in `capacityMb` shared by `instances` (0 when none does). */
function largestBatchThatFits(facts: WorkloadFacts, capacityMb: number, instances: number): number {
  const fixed = instanceMemory(facts, 0).totalMb;
  const perImage = instanceMemory(facts, 1).totalMb - fixed;
  return Math.max(0, Math.floor((capacityMb / instances - fixed) / perImage));
}

const gib = (mb: number) => `${(mb / 1024).toFixed(mb < 10 * 1024 ? 2 : 1)} GiB`;

function describeNeed(need: MemoryNeed): string {
  const p = need.parts;
  return (
    `${need.lowerBound ? 'at least ' : 'about '}${gib(need.totalMb)} per instance ` +
    `(runtime ${gib(p.runtimeMb)}, model ${gib(p.modelMb)}, images ${gib(p.imagesMb)}, batch and engine workspace ${gib(p.batchMb)})`
  );
}

async function loadModelChecked(source: string, at: ErrorLocation, id?: string): Promise<LoadedModel> {
  if (!source.startsWith('builtin:') && !existsSync(source)) {
    throw new UserError('the model file does not exist', {
      location: at,
      value: source,
      hint: 'give a Keras HDF5 (.h5) or ONNX (.onnx) path, relative to the experiment file, or builtin:unet2d-decathlon',
    });
  }
  try {
    await checkModelFile(source);
    return await loadModel(source);
  } catch (err) {
    if (id === undefined) throw err;
    // Whatever the loader met (a truncated file, a layer it cannot read) is this model's fault.
    const inside = isUserError(err) ? formatLocation(err.location) : '';
    throw new UserError(`model '${id}' does not load: ${(err as Error).message}${inside ? ` (${inside})` : ''}`, {
      location: at,
      value: source,
      hint: isUserError(err) ? err.hint : undefined,
      cause: err,
    });
  }
}

/** Checks the data against the split, the images asked for and the model; returns the per-image shape. */
async function checkData(src: InputSources, modelInput: readonly [number | null, number | null, number | null]): Promise<[number, number, number]> {
  const datasets = DATASETS[src.split];
  let shape: [number, number, number];
  let count: number;
  let file: string;
  if ('synthetic' in src.data) {
    // Generated later by the sweep itself: its shape is known without writing it.
    shape = [SYNTHETIC_SIZE, SYNTHETIC_SIZE, CHANNELS];
    count = src.data.synthetic.testing;
    file = '(synthetic data)';
  } else {
    file = src.data.path;
    requireDataFile(file, src.dataAt);
    await checkDataFile(file, [src.split]);
    const info = await describeSplitOf(file, src.split);
    shape = info.shape;
    count = info.count;
  }
  if (src.skip + src.images > count) {
    throw new UserError(`${datasets.images} holds ${count} images; skip ${src.skip} + images ${src.images} = ${src.skip + src.images} goes beyond it`, {
      location: 'path' in src.data ? { file, at: datasets.images } : src.dataAt,
      value: { skip: src.skip, images: src.images, available: count },
      hint: count > src.skip ? `use at most ${count - src.skip} images after skip ${src.skip}: ${src.imagesHint}` : `lower skip below ${count}: ${src.imagesHint}`,
    });
  }
  const [mh, mw, mc] = modelInput;
  if (typeof mc === 'number') {
    expectModelInput({ file, dataset: datasets.images, shape }, { name: src.model, inputShape: [mh ?? null, mw ?? null, mc] });
  }
  if ('path' in src.data) {
    // The first and last rows to be used are read (and their values checked), so a damaged or
    // cut range is found here once rather than by every runner.
    await readSlices(file, src.split, src.skip, 1);
    if (src.images > 1) await readSlices(file, src.split, src.skip + src.images - 1, 1);
  }
  return shape;
}

/** Opens the model and the data once and checks them together; returns what the memory estimate needs. */
export async function checkInputs(src: InputSources): Promise<WorkloadFacts> {
  const model = await loadModelChecked(src.model, src.modelAt, src.modelId);
  const shape = await checkData(src, modelInfo(model).inputShape as [number | null, number | null, number | null]);
  const info = modelInfo(model, shape);
  const activationElements = info.format === 'graph' ? info.layers.reduce((n, l) => n + l.outputShape.reduce<number>((a, d) => a * (d ?? 0), 1), 0) : null;
  return { shape, images: src.images, params: info.params, activationBytesPerImage: activationElements === null ? null : activationElements * 4 };
}

/** A batch or an image set larger than one typed array can hold: refused whatever the memory. */
function arrayLimitProblem(facts: WorkloadFacts, batchSize: number): string | null {
  const [h, w, c] = facts.shape;
  if (batchSize * h * w * c > MAX_ARRAY_ELEMENTS) {
    return `a batch of ${batchSize} images of ${h} x ${w} x ${c} is ${(batchSize * h * w * c).toExponential(2)} values; one array holds at most ${MAX_ARRAY_ELEMENTS}, a batch of ${Math.floor(MAX_ARRAY_ELEMENTS / (h * w * c))} such images`;
  }
  if (facts.images * h * w * c > MAX_ARRAY_ELEMENTS) {
    return `${facts.images} images of ${h} x ${w} x ${c} are ${(facts.images * h * w * c).toExponential(2)} values; one array holds at most ${MAX_ARRAY_ELEMENTS}`;
  }
  return null;
}

/** MiB of memory of the whole machine: the kernel's MemTotal. */
function machineMemoryMb(): number {
  return totalmem() / MIB;
}

/**
 * MiB of memory of each node with memory. A machine with a single memory node is that node:
 * its figure is then the larger of the node's and the machine's (on VMs with hot-plugged
 * memory the node's sysfs figure can miss most of the memory the kernel has).
 */
function nodeMemoryMb(topo: Topology): Map<number, number> {
  const nodes = topo.nodes.filter((n) => n.hasMemory && n.memoryMb !== null && n.memoryMb > 0);
  return new Map(nodes.map((n) => [n.id, nodes.length === 1 ? Math.max(n.memoryMb!, machineMemoryMb()) : n.memoryMb!]));
}

interface PointMemoryProblem {
  text: string;
  fitsBatch: number;
}

/** Whether a point's instances fit the memory of their bound nodes, and all of them the machine's. */
function pointMemoryProblem(point: PlannedPoint, facts: WorkloadFacts, topo: Topology): PointMemoryProblem | null {
  const batch = point.params.batch_size;
  const need = instanceMemory(facts, batch);
  const memoryOf = nodeMemoryMb(topo);
  const membound = point.params.binding === 'slurm' || ((point.params.binding === 'numactl' || point.params.binding === 'node') && topo.numactl);
  // An instance bound to several nodes is counted evenly on each.
  const load = new Map<number, { mb: number; instances: number }>();
  for (const inst of point.instances) {
    if (!membound || inst.nodes.length === 0 || inst.nodes.some((n) => !memoryOf.get(n))) continue;
    for (const node of inst.nodes) {
      const l = load.get(node) ?? { mb: 0, instances: 0 };
      l.mb += need.totalMb / inst.nodes.length;
      l.instances += 1 / inst.nodes.length;
      load.set(node, l);
    }
  }
  for (const [node, l] of load) {
    const capacity = memoryOf.get(node)!;
    if (l.mb > capacity) {
      const instances = Math.ceil(l.instances);
      return {
        text: `${point.key}: ${describeNeed(need)}; ${instances} instance${instances > 1 ? 's' : ''} bound to node ${node}, which has ${gib(capacity)}`,
        fitsBatch: largestBatchThatFits(facts, capacity, l.instances),
      };
    }
  }
  const machine = machineMemoryMb();
  const instances = point.instances.length;
  if (need.totalMb * instances > machine) {
    return {
      text: `${point.key}: ${describeNeed(need)}; ${instances} instance${instances > 1 ? 's' : ''} on a machine with ${gib(machine)}`,
      fitsBatch: largestBatchThatFits(facts, machine, instances),
    };
  }
  return null;
}

/** Binding slurm makes each instance a job step (srun): only possible inside a Slurm job. */
function refuseSlurmBindingOutsideJob(exp: Experiment, plan: Plan): void {
  const points = plan.points.filter((p) => p.params.binding === 'slurm');
  if (points.length === 0 || process.env.SLURM_JOB_ID) return;
  throw new UserError(`binding 'slurm' starts each instance as a job step (srun) of the Slurm job the sweep runs in, and this sweep runs in none (SLURM_JOB_ID is unset): ${points.length} point(s)`, {
    location: { file: exp.file, at: 'matrix.binding' },
    value: 'slurm',
    hint: 'run the sweep in a Slurm job (sweep submit --slurm, sbatch or salloc), or choose another binding',
  });
}

/**
 * The sweep's preflight: every model with the data (checkInputs), and every planned point's
 * memory with its own model. Throws a UserError before anything is written; the synthetic data
 * is not generated yet. Returns the facts by model id.
 */
export async function preflightSweep(exp: Experiment, plan: Plan): Promise<Map<string, WorkloadFacts>> {
  refuseSlurmBindingOutsideJob(exp, plan);
  const w = exp.workload;
  const byModel = new Map<string, WorkloadFacts>();
  for (const model of exp.models) {
    byModel.set(
      model.id,
      await checkInputs({
        model: model.spec,
        modelId: model.id,
        modelAt: model.location,
        data: 'path' in w.data ? w.data : { synthetic: { testing: w.data.synthetic.testing } },
        dataAt: exp.locations.data,
        split: w.split,
        skip: w.skip,
        images: w.images,
        imagesHint: `change workload.images or workload.skip in ${exp.file}`,
      }),
    );
  }
  const factsOf = (point: PlannedPoint) => byModel.get(pointModel(exp.models, point.params).id)!;
  const at = { file: exp.file, at: 'matrix.batch_size' };
  for (const point of plan.points) {
    const problem = arrayLimitProblem(factsOf(point), point.params.batch_size);
    if (problem) throw new UserError(`point ${point.key}: ${problem}`, { location: at, value: point.params.batch_size, hint: 'lower batch_size (or workload.images)' });
  }
  const problems = plan.points.map((p) => pointMemoryProblem(p, factsOf(p), plan.topology)).filter((p): p is PointMemoryProblem => p !== null);
  if (problems.length > 0) {
    const shown = problems.slice(0, 3).map((p) => p.text);
    if (problems.length > 3) shown.push(`... and ${problems.length - 3} more`);
    const fits = Math.min(...problems.map((p) => p.fitsBatch));
    throw new UserError(`${problems.length} of ${plan.points.length} points need more memory than they would have`, {
      location: at,
      value: shown.join('\n    '),
      hint:
        (fits > 0 ? `lower batch_size to at most ${fits}, or run fewer instances per node` : 'the model and images alone do not fit: use fewer images or instances') +
        ' (the estimate is calibrated in docs/measurements.md)',
    });
  }
  return byModel;
}

/** `sweep infer`'s preflight: model, data and the memory of one unbound instance at `batchSize`. */
export async function preflightInfer(src: InputSources, batchSize: number): Promise<WorkloadFacts> {
  const facts = await checkInputs(src);
  const limit = arrayLimitProblem(facts, batchSize);
  if (limit) throw new UserError(limit, { value: batchSize, hint: 'lower --batch-size (or --images)' });
  const need = instanceMemory(facts, batchSize);
  const machine = machineMemoryMb();
  if (need.totalMb > machine) {
    const fits = largestBatchThatFits(facts, machine, 1);
    throw new UserError(`batch size ${batchSize} needs ${describeNeed(need)}; this machine has ${gib(machine)}`, {
      value: batchSize,
      hint: `${fits > 0 ? `use --batch-size ${fits} or less` : 'use fewer --images'} (the estimate is calibrated in docs/measurements.md)`,
    });
  }
  return facts;
}
