"""Regenerates test/parity/fixtures/pytorch-modules.json from PyTorch 1.13 (the tests never run this).

Each case names a sepconv module, its options (camelCase) and a small input; the expected output
(and indices, for max pooling) or PyTorch's error comes from running the equivalent torch.nn module.
Inputs are multiples of 1/8 so they are exact in float32 and ties between maxima occur.
Run: python3 tools/parity-fixtures.py  (needs torch 1.13)
"""
import json, math, os, random
import torch
import torch.nn as nn

torch.set_num_threads(1)
rng = random.Random(1234)


def values(n, special=False):
    out = [rng.randint(-16, 16) / 8 for _ in range(n)]
    if special and n >= 4:
        out[1] = float('nan'); out[2] = float('inf'); out[3] = float('-inf')
    return out


def enc(v):
    if math.isnan(v): return 'nan'
    if math.isinf(v): return 'inf' if v > 0 else '-inf'
    if v == 0 and math.copysign(1, v) < 0: return '-0'
    return v


cases = []


def case(label, module, options, torch_module, shape, special=False, extra=None):
    n = 1
    for d in shape: n *= d
    data = values(n, special)
    x = torch.tensor(data, dtype=torch.float32).reshape(shape)
    entry = {'label': label, 'module': module, 'options': options, 'input': {'shape': list(shape), 'data': [enc(v) for v in data]}}
    try:
        with torch.no_grad():
            y = torch_module(x)
        if isinstance(y, tuple):
            y, idx = y
            entry['indices'] = [int(i) for i in idx.flatten().tolist()]
        entry['output'] = {'shape': list(y.shape), 'data': [enc(v) for v in y.flatten().tolist()]}
    except Exception as e:  # PyTorch rejects it: so must sepconv
        entry['error'] = str(e).split('\n')[0][:200]
    if extra: entry.update(extra)
    cases.append(entry)


# MaxPool2d: the ceil-mode rule (last window must start inside the input or the left padding).
case('issue: MaxPool2d(3, ceil_mode=True) on 2x2', 'MaxPool2d', {'kernelSize': 3, 'ceilMode': True}, nn.MaxPool2d(3, ceil_mode=True), [1, 1, 2, 2])
for k, s, p, d, ceil, shape in [
    (3, 2, 1, 1, True, [1, 2, 5, 7]), (3, 2, 1, 1, False, [1, 2, 5, 7]), (2, 2, 0, 1, True, [2, 1, 5, 5]),
    (3, 3, 1, 1, True, [1, 1, 7, 8]), (2, 3, 1, 1, True, [1, 1, 4, 4]), (3, 2, 0, 2, True, [1, 2, 6, 9]),
    ([2, 3], [1, 2], [1, 1], [2, 1], True, [1, 1, 5, 6]), (4, 3, 2, 1, True, [1, 1, 5, 5]), (5, 2, 2, 1, True, [1, 1, 3, 3]),
    (2, 1, 1, 2, False, [1, 1, 1, 1]), (2, 2, 1, 3, True, [1, 1, 2, 3]), (3, 1, 1, 1, False, [1, 3, 4, 4]),
    (1, 2, 0, 1, True, [1, 1, 4, 5]), (3, 3, 0, 1, False, [2, 2, 2, 2]), (3, 3, 1, 1, False, [3, 2, 2]),
]:
    opts = {'kernelSize': k, 'stride': s, 'padding': p, 'dilation': d, 'ceilMode': ceil, 'returnIndices': True}
    case(f'MaxPool2d k={k} s={s} p={p} d={d} ceil={ceil} on {shape}', 'MaxPool2d', opts,
         nn.MaxPool2d(k, s, p, d, return_indices=True, ceil_mode=ceil), shape, special=(shape == [1, 3, 4, 4]))
# Padding limit: pad <= kernel_size / 2 with the plain kernel size (dilation does not count).
for k, p, d in [(3, 2, 2), (2, 2, 1), ([3, 5], [1, 3], 1), (4, 2, 3)]:
    case(f'MaxPool2d padding limit k={k} p={p} d={d}', 'MaxPool2d', {'kernelSize': k, 'padding': p, 'dilation': d},
         nn.MaxPool2d(k, padding=p, dilation=d), [1, 1, 9, 9])

# AvgPool2d: ceil mode, padding, divisors.
for k, s, p, ceil, cip, div, shape in [
    (3, 2, 1, True, True, None, [1, 2, 5, 7]), (3, 2, 1, True, False, None, [1, 2, 5, 7]), (2, 3, 1, True, True, None, [1, 1, 4, 4]),
    (3, 2, 0, True, True, None, [1, 1, 4, 6]), (3, 3, 1, True, False, None, [1, 1, 7, 8]), (2, 2, 1, False, True, 3, [1, 1, 5, 5]),
    (3, 2, 2, True, True, None, [1, 1, 3, 3]), (3, 2, 1, False, True, None, [2, 3, 3]),
]:
    case(f'AvgPool2d k={k} s={s} p={p} ceil={ceil} count_include_pad={cip} divisor={div} on {shape}', 'AvgPool2d',
         {'kernelSize': k, 'stride': s, 'padding': p, 'ceilMode': ceil, 'countIncludePad': cip, 'divisorOverride': div},
         nn.AvgPool2d(k, s, p, ceil, cip, div), shape)
case('AvgPool2d padding limit', 'AvgPool2d', {'kernelSize': 3, 'padding': 2}, nn.AvgPool2d(3, padding=2), [1, 1, 6, 6])

# Adaptive pooling, None keeps a dimension.
for size, shape in [([None, 3], [1, 2, 5, 7]), ([2, None], [2, 1, 5, 7]), (3, [1, 1, 7, 5]), ([4, 3], [1, 2, 9, 4]), ([None, None], [1, 1, 3, 2]), (2, [2, 3, 3])]:
    case(f'AdaptiveAvgPool2d({size}) on {shape}', 'AdaptiveAvgPool2d', {'outputSize': size}, nn.AdaptiveAvgPool2d(tuple(size) if isinstance(size, list) else size), shape)
    case(f'AdaptiveMaxPool2d({size}) on {shape}', 'AdaptiveMaxPool2d', {'outputSize': size, 'returnIndices': True},
         nn.AdaptiveMaxPool2d(tuple(size) if isinstance(size, list) else size, return_indices=True), shape)

# LPPool2d: (avg_pool2d(x^p) * kh*kw)^(1/p), ceil mode averaging partial windows over real cells.
for p, k, s, ceil, shape in [(2, 2, None, False, [1, 2, 4, 6]), (2, 3, 2, True, [1, 1, 6, 7]), (1, 2, 1, False, [1, 1, 3, 4]),
                             (3, 2, 2, False, [1, 1, 4, 4]), (1.5, [2, 3], [1, 2], True, [1, 1, 5, 6]), (4, 3, 3, True, [2, 5, 5])]:
    case(f'LPPool2d(p={p}, k={k}, s={s}, ceil={ceil}) on {shape}', 'LPPool2d', {'normType': p, 'kernelSize': k, 'stride': s, 'ceilMode': ceil},
         nn.LPPool2d(p, k, s, ceil), shape)

# MaxPool2d(return_indices) -> MaxUnpool2d, default and explicit output sizes.
for k, s, p, shape, out in [(2, 2, 0, [1, 2, 4, 6], None), (3, 2, 1, [1, 1, 5, 5], [5, 5]), (2, 2, 0, [1, 1, 5, 5], [5, 5]), (3, 3, 0, [2, 1, 6, 7], [7, 8])]:
    pool = nn.MaxPool2d(k, s, p, return_indices=True)
    unpool = nn.MaxUnpool2d(k, s, p)
    def run(x, pool=pool, unpool=unpool, out=out):
        y, idx = pool(x)
        return unpool(y, idx, output_size=out)
    case(f'MaxUnpool2d(k={k}, s={s}, p={p}) after MaxPool2d on {shape}, output_size={out}', 'MaxPool2d+MaxUnpool2d',
         {'kernelSize': k, 'stride': s, 'padding': p, 'outputSize': out}, run, shape)

# BatchNorm2d without running statistics normalises with the batch's own (eval mode too).
for shape in [[2, 3, 2, 3], [1, 2, 1, 2], [3, 1, 1, 1]]:
    bn = nn.BatchNorm2d(shape[1], track_running_stats=False).eval()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.5, -0.5, 2.0][:shape[1]]))
        bn.bias.copy_(torch.tensor([0.25, 1.0, -1.0][:shape[1]]))
    case(f'BatchNorm2d(track_running_stats=False) on {shape}', 'BatchNorm2d', {'numFeatures': shape[1], 'trackRunningStats': False,
         'weight': bn.weight.tolist(), 'bias': bn.bias.tolist()}, bn, shape)
bn = nn.BatchNorm2d(2).eval()
case('BatchNorm2d on an unbatched [C, H, W] input', 'BatchNorm2d', {'numFeatures': 2}, bn, [2, 3, 3])

out = os.path.join(os.path.dirname(__file__), '..', 'test', 'parity', 'fixtures', 'pytorch-modules.json')
with open(out, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
    f.write('\n')
print(f'wrote {len(cases)} cases to {out}')


# The seed's classes, verbatim, in a small network; its state_dict written as safetensors by hand
# (the format: 8-byte header length, JSON header, little-endian data), its repr and one output.
class depthwise_conv(nn.Module):
    def __init__(self, nin, kernels_per_layer):
        super(depthwise_conv, self).__init__()
        self.depthwise = nn.Conv2d(nin, nin * kernels_per_layer, kernel_size=3, padding=1, groups=nin)

    def forward(self, x):
        return self.depthwise(x)


class pointwise_conv(nn.Module):
    def __init__(self, nin, nout):
        super(pointwise_conv, self).__init__()
        self.pointwise = nn.Conv2d(nin, nout, kernel_size=1)

    def forward(self, x):
        return self.pointwise(x)


class depthwise_separable_conv(nn.Module):
    def __init__(self, nin, kernels_per_layer, nout):
        super(depthwise_separable_conv, self).__init__()
        self.depthwise = nn.Conv2d(nin, nin * kernels_per_layer, kernel_size=3, padding=1, groups=nin)
        self.pointwise = nn.Conv2d(nin * kernels_per_layer, nout, kernel_size=1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


import struct
torch.manual_seed(0)
net = nn.Sequential(depthwise_conv(3, 2), nn.ReLU(), pointwise_conv(6, 4), nn.BatchNorm2d(4), nn.ReLU6(), depthwise_separable_conv(4, 2, 5)).eval()
with torch.no_grad():
    net[3].running_mean.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0])); net[3].running_var.copy_(torch.tensor([0.5, 2.0, 1.0, 0.25]))
    net[3].num_batches_tracked.fill_(7)
state = net.state_dict()
header, blobs, offset = {'__metadata__': {'format': 'pt'}}, [], 0
for name, t in state.items():
    raw = t.contiguous().numpy().tobytes()
    header[name] = {'dtype': 'I64' if t.dtype == torch.int64 else 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
    blobs.append(raw); offset += len(raw)
text = json.dumps(header, separators=(',', ':'))
text += ' ' * ((8 - len(text) % 8) % 8)
fixtures = os.path.join(os.path.dirname(__file__), '..', 'test', 'parity', 'fixtures')
with open(os.path.join(fixtures, 'seed-network.safetensors'), 'wb') as f:
    f.write(struct.pack('<Q', len(text))); f.write(text.encode()); f.write(b''.join(blobs))
x = torch.tensor(values(2 * 3 * 5 * 6), dtype=torch.float32).reshape(2, 3, 5, 6)
with torch.no_grad():
    y = net(x)
with open(os.path.join(fixtures, 'seed-network.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'repr': repr(net), 'keys': list(state.keys()),
               'input': {'shape': list(x.shape), 'data': x.flatten().tolist()},
               'output': {'shape': list(y.shape), 'data': y.flatten().tolist()}}, f, separators=(',', ':'))
    f.write('\n')
print('wrote the seed network fixtures')
