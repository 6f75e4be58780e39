"""Reads and writes the U-Net as a Keras 2.3-style HDF5 file (what `model.save(...h5)` writes).

Layout (docs/model-files.md): root attributes keras_version,
backend and model_config (JSON of the functional Model); group model_weights with attributes
layer_names / backend / keras_version and one group per layer whose weight_names attribute lists
'layer/kernel:0', 'layer/bias:0'. Kernels are stored in Keras layouts: Conv2D (kh, kw, in, out),
Conv2DTranspose (kh, kw, out, in). PyTorch holds Conv2d as (out, in, kh, kw) and ConvTranspose2d
as (in, out, kh, kw), so both go to Keras with the same axis permutation (2, 3, 1, 0).
"""

import json

import h5py
import numpy as np
import torch

from unet import INPUT_NAME, OUTPUT_NAME, UNet

KERAS_VERSION = '2.3.1'
BACKEND = 'tensorflow'
TORCH_TO_KERAS = (2, 3, 1, 0)
KERAS_TO_TORCH = (3, 2, 0, 1)


def _ascii_attr(obj, name, text):
    # Keras 2.3 (h5py 2.x) wrote scalar string attributes as variable-length ASCII.
    obj.attrs.create(name, text, dtype=h5py.string_dtype('ascii'))


def _fixed_strings(names):
    # ... and name lists as fixed-length null-padded ASCII.
    return np.array([n.encode('ascii') for n in names])


def _initializer(kind):
    if kind == 'Conv2DTranspose':
        return {'class_name': 'VarianceScaling', 'config': {'scale': 1.0, 'mode': 'fan_avg', 'distribution': 'uniform', 'seed': None}}
    return {'class_name': 'VarianceScaling', 'config': {'scale': 2.0, 'mode': 'fan_in', 'distribution': 'uniform', 'seed': None}}


def _layer_config(layer, input_size):
    kind, name = layer['kind'], layer['name']
    base = {'name': name, 'trainable': True, 'dtype': 'float32'}
    if kind == 'InputLayer':
        return {'batch_input_shape': [None, input_size, input_size, layer['channels']], 'dtype': 'float32',
                'sparse': False, 'name': name}
    if kind == 'MaxPooling2D':
        return {**base, 'pool_size': [2, 2], 'padding': 'valid', 'strides': [2, 2], 'data_format': 'channels_last'}
    if kind == 'Concatenate':
        return {**base, 'axis': -1}
    k, s = layer['kernel'], layer['strides']
    config = {**base, 'filters': layer['filters'], 'kernel_size': [k, k], 'strides': [s, s], 'padding': 'same',
              'data_format': 'channels_last', 'dilation_rate': [1, 1], 'activation': layer['activation'],
              'use_bias': True, 'kernel_initializer': _initializer(kind),
              'bias_initializer': {'class_name': 'Zeros', 'config': {}}, 'kernel_regularizer': None,
              'bias_regularizer': None, 'activity_regularizer': None, 'kernel_constraint': None,
              'bias_constraint': None}
    if kind == 'Conv2DTranspose':
        config['output_padding'] = None
    return config


def model_config(model, input_size=144, name='unet2d_decathlon'):
    """The Keras functional Model JSON for `model`'s layer list."""
    layers = []
    for layer in model.layers:
        inbound = [[[i, 0, 0, {}] for i in layer['inputs']]] if layer['inputs'] else []
        layers.append({'name': layer['name'], 'class_name': layer['kind'],
                       'config': _layer_config(layer, input_size), 'inbound_nodes': inbound})
    return {'class_name': 'Model', 'config': {'name': name, 'layers': layers,
                                              'input_layers': [[INPUT_NAME, 0, 0]],
                                              'output_layers': [[OUTPUT_NAME, 0, 0]]}}


def save_keras_h5(model, path, dtype=np.float16, input_size=144, attrs=None):
    """Writes `model` as a Keras HDF5 model file; `attrs` become extra root attributes."""
    with h5py.File(path, 'w') as f:
        _ascii_attr(f, 'keras_version', KERAS_VERSION)
        _ascii_attr(f, 'backend', BACKEND)
        _ascii_attr(f, 'model_config', json.dumps(model_config(model, input_size)))
        for key, value in (attrs or {}).items():
            _ascii_attr(f, key, value)
        weights = f.create_group('model_weights')
        _ascii_attr(weights, 'keras_version', KERAS_VERSION)
        _ascii_attr(weights, 'backend', BACKEND)
        weights.attrs['layer_names'] = _fixed_strings([l['name'] for l in model.layers])
        for layer in model.layers:
            name = layer['name']
            group = weights.create_group(name)
            if name not in model.ops or not list(model.ops[name].parameters()):
                # Keras writes an empty float64 array for layers without weights.
                group.attrs['weight_names'] = np.zeros((0,), dtype=np.float64)
                continue
            op = model.ops[name]
            kernel = op.weight.detach().cpu().numpy().transpose(TORCH_TO_KERAS)
            bias = op.bias.detach().cpu().numpy()
            names = [f'{name}/kernel:0', f'{name}/bias:0']
            group.attrs['weight_names'] = _fixed_strings(names)
            group.create_dataset(names[0], data=np.ascontiguousarray(kernel, dtype=dtype))
            group.create_dataset(names[1], data=bias.astype(dtype))


def _text(value):
    return value.decode('utf-8') if isinstance(value, bytes) else str(value)


def load_keras_h5(path):
    """Builds a UNet from a Keras HDF5 file written for this architecture; weights go to float32."""
    with h5py.File(path, 'r') as f:
        config = json.loads(_text(f.attrs['model_config']))
        by_name = {l['name']: l for l in config['config']['layers']}
        for required in (INPUT_NAME, 'encodeAa', OUTPUT_NAME):
            if required not in by_name:
                raise ValueError(f'{path}: model_config has no layer {required!r}; not the IntelAI 2D U-Net')
        fms = by_name['encodeAa']['config']['filters']
        in_channels = by_name[INPUT_NAME]['config']['batch_input_shape'][-1]
        out_channels = by_name[OUTPUT_NAME]['config']['filters']
        model = UNet(fms, in_channels, out_channels)
        expected = [l['name'] for l in model.layers]
        if sorted(expected) != sorted(by_name):
            raise ValueError(f'{path}: layers differ from the U-Net: {sorted(set(expected) ^ set(by_name))}')
        weights = f['model_weights'] if 'model_weights' in f else f
        for name, op in model.ops.items():
            params = list(op.parameters())
            if not params:
                continue
            group = weights[name]
            names = [_text(n) for n in group.attrs['weight_names']]
            kernel = next(n for n in names if n.split('/')[-1].startswith('kernel'))
            bias = next(n for n in names if n.split('/')[-1].startswith('bias'))
            k = np.asarray(group[kernel], dtype=np.float32).transpose(KERAS_TO_TORCH)
            with torch.no_grad():
                if tuple(k.shape) != tuple(op.weight.shape):
                    raise ValueError(f'{path}: {name} kernel has shape {k.shape}, expected {tuple(op.weight.shape)}')
                op.weight.copy_(torch.from_numpy(np.ascontiguousarray(k)))
                op.bias.copy_(torch.from_numpy(np.asarray(group[bias], dtype=np.float32)))
    model.eval()
    return model
