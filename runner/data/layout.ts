import type { Split } from '../job.js';

// The Medical Segmentation Decathlon Task01 layout the reference benchmark loads (docs/workload.md) (IntelAI/unet 2D data
// conversion): one images and one masks dataset per split, channels last.

export const SPLITS: readonly Split[] = ['train', 'validation', 'testing'];

export const DATASETS: Readonly<Record<Split, { images: string; masks: string }>> = {
  train: { images: 'imgs_train', masks: 'msks_train' },
  validation: { images: 'imgs_validation', masks: 'msks_validation' },
  testing: { images: 'imgs_testing', masks: 'msks_testing' },
};

export function isSplit(value: string): value is Split {
  return (SPLITS as readonly string[]).includes(value);
}
