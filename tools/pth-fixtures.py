#!/usr/bin/env python3
"""Small torch.save files for test/io/torch-*.test.ts, written to test/fixtures/pth/.

Needs PyTorch (Debian's python3-torch 1.13 was used) and numpy; CI never runs this script: the
files it writes are committed. Each file is a few KB. manifest.json records, for every tensor of
every file, its dtype, shape and values as PyTorch reads them (torch.load), so the tests compare
sepconv's reader with PyTorch's own without Python. The legacy-format files and the TorchScript
archive differ from run to run (storage keys are memory addresses), their contents do not.

    python3 tools/pth-fixtures.py
"""
import io
import json
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'pth')


def describe(value):
    """What a test expects: tensors as {dtype, shape, values}, containers recursively."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
        values = t.float().flatten().tolist() if t.is_floating_point() else t.flatten().tolist()
        if t.dtype == torch.bool:
            values = [int(v) for v in values]
        return {'tensor': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'values': values}
    if isinstance(value, np.ndarray):
        values = value.flatten().tolist()  # C order, whatever the array's memory order
        if value.dtype == np.bool_:
            values = [int(v) for v in values]
        return {'tensor': str(value.dtype), 'shape': list(value.shape), 'values': values}
    if isinstance(value, dict):
        return {'dict': {str(k): describe(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {'list': [describe(v) for v in value]}
    if isinstance(value, (np.floating,)):
        return {'float': float(value)}
    if isinstance(value, (np.integer,)):
        return {'int': int(value)}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return {'value': value}
    if isinstance(value, int):
        return {'int': value} if abs(value) < 2 ** 53 else {'bigint': str(value)}
    if isinstance(value, float):
        return {'float': value}
    raise TypeError(type(value))


def dtypes_dict():
    g = torch.Generator().manual_seed(1)
    base = torch.randn(3, 4, generator=g)
    return OrderedDict([
        ('f32', base),
        ('f64', base.double()),
        ('f16', base.half()),
        ('bf16', base.bfloat16()),
        ('i64', torch.tensor([-(2 ** 40), 0, 7], dtype=torch.int64)),
        ('i32', torch.tensor([-5, 2 ** 30], dtype=torch.int32)),
        ('i16', torch.tensor([-300, 300], dtype=torch.int16)),
        ('i8', torch.tensor([-128, 127], dtype=torch.int8)),
        ('u8', torch.tensor([0, 255], dtype=torch.uint8)),
        ('bool', torch.tensor([True, False, True])),
        ('scalar', torch.tensor(2.5)),
        ('empty', torch.zeros(0, 3)),
        ('transposed', base.t()),
        ('sliced', base[1:, ::2]),
        ('expanded', torch.arange(3.0).unsqueeze(0).expand(2, 3)),
        ('param', torch.nn.Parameter(torch.ones(2))),
    ])


def training_checkpoint():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 1), torch.nn.BatchNorm2d(3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(2, 2, 3, 3)).sum().backward()
    opt.step()
    return {
        'epoch': 7,
        'model': model.state_dict(),
        'optimizer': opt.state_dict(),
        'best_acc': np.float64(0.875),
        'steps': np.int64(1234),
        'history': [0.5, 0.25],
        'note': 'fixture',
    }


def deflate(buffer):
    """The same archive with every entry deflated (torch.load reads it)."""
    src = zipfile.ZipFile(io.BytesIO(buffer))
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            # A fixed timestamp, so the file is the same at every run.
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0)), src.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def save(name, obj, **kwargs):
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {}
    files['dtypes.pt'] = (save('dtypes', dtypes_dict()), dtypes_dict())
    files['protocol4.pt'] = (save('protocol4', dtypes_dict(), pickle_protocol=4), dtypes_dict())
    files['legacy-dtypes.pt'] = (save('legacy', dtypes_dict(), _use_new_zipfile_serialization=False), dtypes_dict())
    files['legacy-protocol4.pt'] = (save('legacy4', dtypes_dict(), _use_new_zipfile_serialization=False, pickle_protocol=4), dtypes_dict())
    ckpt = training_checkpoint()
    files['training.pt'] = (save('training', ckpt), ckpt)
    dp = OrderedDict((f'module.{k}', v) for k, v in ckpt['model'].items())
    files['data-parallel.pt'] = (save('dp', dp), dp)
    arrays = {
        'anchors': np.array([[1.5, 2], [3, 4]], dtype=np.float32),
        'history': np.arange(5),
        'fortran': np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
        'flags': np.array([True, False, True]),
        'big_endian': np.array([0.25, -8], dtype='>f8'),
        'empty': np.zeros((0, 2), dtype=np.uint8),
    }
    files['numpy-arrays.pt'] = (save('numpy', arrays), arrays)
    files['deflated.pt'] = (deflate(save('deflated', ckpt['model'])), ckpt['model'])
    manifest = {'torch': torch.__version__, 'files': {}}
    for name, (data, obj) in files.items():
        loaded = torch.load(io.BytesIO(data))
        manifest['files'][name] = describe(loaded)
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)
    # A TorchScript archive (torch.jit.save), which the reader must refuse by name.
    torch.manual_seed(0)
    scripted = torch.jit.script(torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1)))
    torch.jit.save(scripted, os.path.join(OUT, 'torchscript.pt'))
    # The same plain object pickled with every protocol (no torch), for the pickle reader alone.
    plain = {'int': 1, 'neg': -70000, 'big': 2 ** 70, 'float': 0.1, 'str': 'héllo', 'bytes': b'\x00\xff',
             'list': [1, [2, 3]], 'tuple': (True, False, None), 'nested': {'a': {'b': []}}, '__proto__': 'data'}
    for protocol in range(6):
        with open(os.path.join(OUT, f'plain-protocol{protocol}.pkl'), 'wb') as f:
            f.write(pickle.dumps(plain, protocol=protocol))
    with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
