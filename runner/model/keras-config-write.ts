import type { Layer } from './graph.js';
import type { JsonObject } from './keras-config-read.js';

// Our layers -> Keras 2.3 layer configs, for writing Keras HDF5 files (keras-h5-save.ts);
// keras-config-read.ts reads them back.

const pairOut = (v: [number, number] | undefined, d: number): [number, number] => v ?? [d, d];

/** What Keras writes for a freshly built Conv2D / Conv2DTranspose / Dense besides its shape. */
const KERNEL_DEFAULTS = {
  kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
  bias_initializer: { class_name: 'Zeros', config: {} },
  kernel_regularizer: null,
  bias_regularizer: null,
  activity_regularizer: null,
  kernel_constraint: null,
  bias_constraint: null,
};

/** The Keras 2.3 `config` of a layer, with the keys Keras's from_config reads. */
export function toKerasLayerConfig(layer: Layer, inputShape: [number | null, number | null, number]): JsonObject {
  const c = layer.config;
  const base: JsonObject = { name: layer.name, trainable: true, dtype: 'float32' };
  switch (layer.kind) {
    case 'InputLayer':
      return { batch_input_shape: [null, ...inputShape], dtype: 'float32', sparse: false, name: layer.name };
    case 'Conv2D':
    case 'Conv2DTranspose': {
      const out: JsonObject = {
        ...base,
        filters: c.filters ?? 0,
        kernel_size: pairOut(c.kernelSize, 1),
        strides: pairOut(c.strides, 1),
        padding: c.padding ?? 'valid',
        data_format: 'channels_last',
        dilation_rate: pairOut(c.dilationRate, 1),
        activation: c.activation ?? 'linear',
        use_bias: c.useBias !== false,
        ...KERNEL_DEFAULTS,
      };
      if (layer.kind === 'Conv2DTranspose') out.output_padding = null;
      return out;
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      return { ...base, pool_size: pairOut(c.poolSize, 2), padding: c.padding ?? 'valid', strides: pairOut(c.strides, 2), data_format: 'channels_last' };
    case 'UpSampling2D':
      return { ...base, size: pairOut(c.size, 2), data_format: 'channels_last', interpolation: c.interpolation ?? 'nearest' };
    case 'Concatenate':
      return { ...base, axis: c.axis === 3 ? -1 : (c.axis ?? -1) };
    case 'BatchNormalization':
      return {
        ...base,
        axis: -1,
        momentum: 0.99,
        epsilon: c.epsilon ?? 1e-3,
        center: c.center !== false,
        scale: c.scale !== false,
        beta_initializer: { class_name: 'Zeros', config: {} },
        gamma_initializer: { class_name: 'Ones', config: {} },
        moving_mean_initializer: { class_name: 'Zeros', config: {} },
        moving_variance_initializer: { class_name: 'Ones', config: {} },
        beta_regularizer: null,
        gamma_regularizer: null,
        beta_constraint: null,
        gamma_constraint: null,
      };
    case 'Activation':
      return { ...base, activation: c.activation ?? 'linear' };
    case 'Dropout':
      return { ...base, rate: c.rate ?? 0, noise_shape: null, seed: null };
    case 'SpatialDropout2D':
      return { ...base, rate: c.rate ?? 0, noise_shape: null, seed: null };
    case 'ZeroPadding2D':
      return { ...base, padding: c.pads ?? [[1, 1], [1, 1]], data_format: 'channels_last' };
    case 'Cropping2D':
      return { ...base, cropping: c.pads ?? [[0, 0], [0, 0]], data_format: 'channels_last' };
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling2D':
      // keepdims appeared in tf.keras 2.6; written only when set so 2.3 reads the file.
      return c.keepdims ? { ...base, data_format: 'channels_last', keepdims: true } : { ...base, data_format: 'channels_last' };
    case 'Flatten':
      return { ...base, data_format: 'channels_last' };
    case 'Dense':
      return {
        ...base,
        units: c.units ?? 0,
        activation: c.activation ?? 'linear',
        use_bias: c.useBias !== false,
        ...KERNEL_DEFAULTS,
      };
  }
}
