"""The reference benchmark's 2D U-Net (IntelAI unet 2D, builtin:unet2d-decathlon) in PyTorch.

One layer list describes the network; the PyTorch module and the Keras model_config
(keras_h5.py) are both built from it, so names and wiring cannot drift apart. The layers
are PyTorch's own (Conv2d, ConvTranspose2d, MaxPool2d): this model is the independent
reference the runner's engines are checked against.
"""

import torch
from torch import nn

INPUT_NAME = 'MRImages'
OUTPUT_NAME = 'PredictionMask'


def conv(name, inp, filters, kernel=3, activation='relu'):
    return {'name': name, 'kind': 'Conv2D', 'inputs': [inp], 'filters': filters,
            'kernel': kernel, 'strides': 1, 'activation': activation}


def architecture(fms=32, in_channels=4, out_channels=1):
    """Layers in topological order, named as the IntelAI Keras model names them."""
    layers = [{'name': INPUT_NAME, 'kind': 'InputLayer', 'inputs': [], 'channels': in_channels}]
    prev = INPUT_NAME
    skips = {}
    # Encoder: levels A..E, fms * 2^level feature maps, two 3x3 ReLU convs each, 2x2 max-pool
    # between levels.
    for level, letter in enumerate('ABCDE'):
        filters = fms * 2 ** level
        layers.append(conv(f'encode{letter}a', prev, filters))
        layers.append(conv(f'encode{letter}b', f'encode{letter}a', filters))
        prev = f'encode{letter}b'
        if letter != 'E':
            skips[letter] = prev
            layers.append({'name': f'pool{letter}', 'kind': 'MaxPooling2D', 'inputs': [prev]})
            prev = f'pool{letter}'
    # Decoder: 2x2 stride-2 transposed conv, concatenate [upsampled, skip], two 3x3 ReLU convs.
    # Keras names: transconvE -> concatD -> decodeC*, transconvC -> concatC -> decodeB*,
    # transconvB -> concatB -> decodeA*, transconvA -> concatA -> convOut*.
    steps = [('E', 'D', 'decodeC', 8), ('C', 'C', 'decodeB', 4), ('B', 'B', 'decodeA', 2), ('A', 'A', 'convOut', 1)]
    for up_letter, skip_letter, block, mult in steps:
        filters = fms * mult
        layers.append({'name': f'transconv{up_letter}', 'kind': 'Conv2DTranspose', 'inputs': [prev],
                       'filters': filters, 'kernel': 2, 'strides': 2, 'activation': 'linear'})
        layers.append({'name': f'concat{skip_letter}', 'kind': 'Concatenate',
                       'inputs': [f'transconv{up_letter}', skips[skip_letter]]})
        layers.append(conv(f'{block}a', f'concat{skip_letter}', filters))
        layers.append(conv(f'{block}b', f'{block}a', filters))
        prev = f'{block}b'
    layers.append(conv(OUTPUT_NAME, prev, out_channels, kernel=1, activation='sigmoid'))
    return layers


def channels_of(layers):
    """Output channel count of every layer."""
    out = {}
    for layer in layers:
        kind = layer['kind']
        if kind == 'InputLayer':
            out[layer['name']] = layer['channels']
        elif kind in ('Conv2D', 'Conv2DTranspose'):
            out[layer['name']] = layer['filters']
        elif kind == 'Concatenate':
            out[layer['name']] = sum(out[i] for i in layer['inputs'])
        else:
            out[layer['name']] = out[layer['inputs'][0]]
    return out


ACTIVATIONS = {'relu': torch.relu, 'sigmoid': torch.sigmoid, 'linear': lambda x: x}


class UNet(nn.Module):
    """Runs the layer list on NCHW tensors; parameters are keyed by Keras layer name."""

    def __init__(self, fms=32, in_channels=4, out_channels=1):
        super().__init__()
        self.fms = fms
        self.layers = architecture(fms, in_channels, out_channels)
        channels = channels_of(self.layers)
        self.ops = nn.ModuleDict()
        for layer in self.layers:
            kind, name = layer['kind'], layer['name']
            if kind == 'Conv2D':
                k = layer['kernel']
                # Keras 'same' with stride 1 and an odd kernel pads k // 2 on every side.
                self.ops[name] = nn.Conv2d(channels[layer['inputs'][0]], layer['filters'], k, padding=k // 2)
            elif kind == 'Conv2DTranspose':
                # Kernel 2, stride 2, 'same': every input pixel becomes a 2x2 block, no padding.
                self.ops[name] = nn.ConvTranspose2d(channels[layer['inputs'][0]], layer['filters'], 2, stride=2)
            elif kind == 'MaxPooling2D':
                self.ops[name] = nn.MaxPool2d(2, stride=2)
        for module in self.ops.values():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                # Keras's he_uniform for the kernels (PyTorch's default is scaled for leaky ReLU).
                nn.init.kaiming_uniform_(module.weight, nonlinearity='relu')
                nn.init.zeros_(module.bias)

    def forward(self, x):
        values = {}
        for layer in self.layers:
            kind, name = layer['kind'], layer['name']
            if kind == 'InputLayer':
                values[name] = x
            elif kind == 'Concatenate':
                values[name] = torch.cat([values[i] for i in layer['inputs']], dim=1)
            else:
                y = self.ops[name](values[layer['inputs'][0]])
                values[name] = ACTIVATIONS[layer.get('activation', 'linear')](y)
        return values[OUTPUT_NAME]


def param_count(model):
    return sum(p.numel() for p in model.parameters())
