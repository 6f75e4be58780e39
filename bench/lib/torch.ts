import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { packagePath } from '../../common/paths.js';
import { runChild } from './child.js';

// Reference figure from PyTorch (Debian's python3-torch for /usr/bin/python3), run on the
// U-Net of tools/train-demo-model/unet.py. Absent pieces make a skip with a reason, not a failure.

export const SYSTEM_PYTHON = '/usr/bin/python3';
const UNET_DIR = packagePath('tools', 'train-demo-model');
const LOOP = packagePath('bench', 'lib', 'torch-loop.py');

export interface TorchArgs {
  fms: number;
  threads: number;
  seconds: number;
  minRuns: number;
  warmup: number;
  shape: [number, number, number];
}

export interface TorchResult {
  event: 'torch';
  torch_version: string;
  threads: number;
  params: number;
  runs: number;
  seconds: number;
  throughput_ips: number;
  latency_p50_ms: number;
  onednn: boolean;
}

/** Why the PyTorch reference cannot run here, or null when it can. */
export function torchUnavailable(): string | null {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found`;
  if (!existsSync(`${UNET_DIR}/unet.py`)) return `${UNET_DIR}/unet.py not found`;
  const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${SYSTEM_PYTHON} has no torch (Debian: apt-get install python3-torch)`;
  return null;
}

export function runTorch(a: TorchArgs): Promise<TorchResult> {
  const [h, w, c] = a.shape;
  const argv = [LOOP, UNET_DIR, a.fms, a.threads, a.seconds, a.minRuns, a.warmup, h, w, c].map(String);
  return runChild<TorchResult>(SYSTEM_PYTHON, argv, 'torch');
}
