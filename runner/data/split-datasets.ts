import type { H5Dataset, H5File } from '../hdf5.js';
import type { Split } from '../job.js';
import { DATASETS } from './layout.js';
import { CHANNELS } from './phantom.js';

/**
 * Creates one split's images (rows x size x size x 4) and masks (rows x size x size x 1) float32
 * datasets, to be filled with write_slice. Chunks of one slice: readers take row ranges, and a
 * row is one chunk (compressed alone when gzipLevel > 0).
 */
export function createSplitDatasets(file: H5File, split: Split, rows: number, size: number, gzipLevel = 0): { images: H5Dataset; masks: H5Dataset } {
  const compression = gzipLevel > 0 ? { compression: 'gzip' as const, compression_opts: gzipLevel } : {};
  const create = (name: string, channels: number) =>
    file.create_dataset({
      name,
      data: new Float32Array(0),
      shape: [0, size, size, channels],
      maxshape: [null, size, size, channels],
      chunks: [1, size, size, channels],
      ...compression,
    });
  const images = create(DATASETS[split].images, CHANNELS);
  const masks = create(DATASETS[split].masks, 1);
  if (rows > 0) {
    images.resize([rows, size, size, CHANNELS]);
    masks.resize([rows, size, size, 1]);
  }
  return { images, masks };
}
