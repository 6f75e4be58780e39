import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../common/errors.js';
import { parseKerasModelConfig } from '../runner/model/keras-config-read.js';

// model_config variants without a fixture file here: Keras 3's legacy HDF5 format and
// tf.keras 2.x Sequential with an explicit InputLayer (shapes as those versions write them).

const dtypePolicy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
const tensor = (name: string, shape: (number | null)[]) => ({
  class_name: '__keras_tensor__',
  config: { shape, dtype: 'float32', keras_history: [name, 0, 0] },
});

test('Keras 3 legacy HDF5 model_config: keras_tensor args, batch_shape, flat input/output triples', () => {
  const config = {
    module: 'keras',
    class_name: 'Functional',
    config: {
      name: 'functional',
      trainable: true,
      layers: [
        { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 16, 16, 2], dtype: 'float32', sparse: false, name: 'x' }, registered_name: null, name: 'x', inbound_nodes: [] },
        {
          module: 'keras.layers',
          class_name: 'Conv2D',
          config: { name: 'c', trainable: true, dtype: dtypePolicy, filters: 3, kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1], groups: 1, activation: 'relu', use_bias: true, some_future_key: 42 },
          registered_name: null,
          build_config: { input_shape: [null, 16, 16, 2] },
          name: 'c',
          inbound_nodes: [{ args: [tensor('x', [null, 16, 16, 2])], kwargs: {} }],
        },
        {
          module: 'keras.layers',
          class_name: 'Concatenate',
          config: { name: 'cat', trainable: true, dtype: dtypePolicy, axis: -1 },
          registered_name: null,
          name: 'cat',
          inbound_nodes: [{ args: [[tensor('c', [null, 16, 16, 3]), tensor('x', [null, 16, 16, 2])]], kwargs: {} }],
        },
      ],
      input_layers: ['x', 0, 0],
      output_layers: ['cat', 0, 0],
    },
  };
  const arch = parseKerasModelConfig(JSON.stringify(config), 'k3.h5');
  assert.deepEqual(arch.inputShape, [16, 16, 2]);
  assert.equal(arch.output, 'cat');
  assert.deepEqual(
    arch.layers.map((l) => [l.name, l.kind, l.inputs]),
    [
      ['x', 'InputLayer', []],
      ['c', 'Conv2D', ['x']],
      ['cat', 'Concatenate', ['c', 'x']],
    ],
  );
  assert.equal(arch.layers[2]?.config.axis, 3);
  assert.equal(arch.layers[1]?.config.activation, 'relu');
});

test('tf.keras Sequential with an InputLayer, layers listed out of order in a functional model', () => {
  const seq = {
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      layers: [
        { class_name: 'InputLayer', config: { batch_input_shape: [null, 8, 8, 1], dtype: 'float32', name: 'in' } },
        { class_name: 'MaxPool2D', config: { name: 'p', pool_size: 2, strides: null, padding: 'valid' } },
        { class_name: 'ZeroPadding2D', config: { name: 'z', padding: [1, 2] } },
      ],
    },
  };
  const a = parseKerasModelConfig(JSON.stringify(seq), 's.h5');
  assert.deepEqual(a.layers.map((l) => l.kind), ['InputLayer', 'MaxPooling2D', 'ZeroPadding2D']);
  assert.deepEqual(a.layers[1]?.config.strides, [2, 2]);
  assert.deepEqual(a.layers[2]?.config.pads, [[1, 1], [2, 2]]);

  const fn = {
    class_name: 'Model',
    config: {
      name: 'm',
      layers: [
        { name: 'b', class_name: 'Activation', config: { name: 'b', activation: 'sigmoid' }, inbound_nodes: [[['a', 0, 0, {}]]] },
        { name: 'a', class_name: 'InputLayer', config: { batch_input_shape: [null, null, null, 3], name: 'a' }, inbound_nodes: [] },
      ],
      input_layers: [['a', 0, 0]],
      output_layers: [['b', 0, 0]],
    },
  };
  const b = parseKerasModelConfig(JSON.stringify(fn), 'f.h5');
  assert.deepEqual(b.layers.map((l) => l.name), ['a', 'b']);
  assert.deepEqual(b.inputShape, [null, null, 3]);
});

test('configs we cannot honour are UserErrors naming the file and layer', () => {
  const conv = (extra: Record<string, unknown>) =>
    JSON.stringify({
      class_name: 'Sequential',
      config: [{ class_name: 'Conv2D', config: { name: 'c1', filters: 2, kernel_size: [3, 3], batch_input_shape: [null, 8, 8, 1], ...extra } }],
    });
  const check = (raw: string, pattern: RegExp) =>
    assert.throws(
      () => parseKerasModelConfig(raw, 'bad.h5'),
      (err: unknown) => err instanceof UserError && err.location.file === 'bad.h5' && pattern.test(err.message),
    );
  check(conv({ activation: 'swish' }), /layer 'c1': unsupported activation 'swish'/);
  check(conv({ data_format: 'channels_first' }), /layer 'c1': data_format 'channels_first'/);
  check(conv({ groups: 2 }), /grouped convolution/);
  check('{"class_name": "Sequential", "config": [{"class_name": "LSTM", "config": {"name": "lstm_1"}}]}', /unsupported layer class 'LSTM' \(layer 'lstm_1'\)/);
  check('{"class_name": "Graph", "config": {}}', /unsupported model class 'Graph'/);
  check('not json', /model_config is not valid JSON/);
});
