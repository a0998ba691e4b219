"""Writes test/fixtures/zoo-torchvision.json: torchvision 0.14's model zoo as the tests see it.

For every model variant: the state-dict keys (per family) with each variant's shapes and dtypes,
the parameter count, the MACs at 1x3x224x224 (convolutions + linear layers, output size only,
as src/analysis counts them), and eval-mode logits (float64) of a 10-class instance at a
1x3x67x67 input, with every state-dict value generated from a hash of its key and element index
(the same function as test/layers/zoo-weights.ts, so the tests need no weight files).

Run with PyTorch 1.13 / torchvision 0.14:  python3 tools/zoo-fixtures.py
"""
import json
import math
import sys

import numpy as np
import torch
import torchvision
from torchvision import models

torch.set_grad_enabled(False)

MASK = 0xFFFFFFFF


def fnv1a(text):
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & MASK
    return h


def hashed_uniform(key, count):
    """u in [0, 1) for elements 0..count-1 of `key`: a murmur3-style finaliser of (i*golden + fnv(key))."""
    i = np.arange(count, dtype=np.uint64)
    x = (i * np.uint64(0x9E3779B1) + np.uint64(fnv1a(key))) & np.uint64(MASK)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & np.uint64(MASK)
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & np.uint64(MASK)
    x ^= x >> np.uint64(16)
    return (x >> np.uint64(8)).astype(np.float64) / float(1 << 24)


def hashed_value(key, shape):
    """The value test/layers/zoo-weights.ts gives `key` (float32-exact), by the kind of tensor."""
    count = int(np.prod(shape)) if len(shape) > 0 else 1
    u = hashed_uniform(key, count)
    name = key.rsplit(".", 1)[-1]
    if key == "input":
        return (2 * u - 1).astype(np.float32).reshape(shape)
    if name == "num_batches_tracked":
        return np.floor(u * 1000).astype(np.int64).reshape(shape)
    if name == "running_var":
        v = 0.5 + u
    elif name == "running_mean":
        v = 0.2 * (2 * u - 1)
    elif name == "weight" and len(shape) == 1:  # BatchNorm scale
        v = 0.5 + u
    elif name == "bias":
        v = 0.1 * (2 * u - 1)
    else:  # conv or linear weight: He-uniform over its fan-in
        fan_in = int(np.prod(shape[1:]))
        v = math.sqrt(6.0 / fan_in) * (2 * u - 1)
    return v.astype(np.float32).reshape(shape)


def macs_at(model, size):
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * (module.in_channels // module.groups) * k
        elif isinstance(module, torch.nn.Linear):
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    model.eval()(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return total


VARIANTS = [
    # name, family, builder, options as the JS factory takes them
    ("mobilenet_v2", "mobilenet_v2", lambda **k: models.mobilenet_v2(**k), {"widthMult": 1.0}),
    ("mobilenet_v2_w0.5", "mobilenet_v2", lambda **k: models.mobilenet_v2(width_mult=0.5, **k), {"widthMult": 0.5}),
    ("mobilenet_v2_w0.35", "mobilenet_v2", lambda **k: models.mobilenet_v2(width_mult=0.35, **k), {"widthMult": 0.35}),
    ("mobilenet_v2_w1.4", "mobilenet_v2", lambda **k: models.mobilenet_v2(width_mult=1.4, **k), {"widthMult": 1.4}),
    ("mobilenet_v3_large", "mobilenet_v3_large", lambda **k: models.mobilenet_v3_large(**k), {}),
    ("mobilenet_v3_small", "mobilenet_v3_small", lambda **k: models.mobilenet_v3_small(**k), {}),
    ("shufflenet_v2_x0_5", "shufflenet_v2", lambda **k: models.shufflenet_v2_x0_5(**k), {"width": 0.5}),
    ("shufflenet_v2_x1_0", "shufflenet_v2", lambda **k: models.shufflenet_v2_x1_0(**k), {"width": 1.0}),
    ("shufflenet_v2_x1_5", "shufflenet_v2", lambda **k: models.shufflenet_v2_x1_5(**k), {"width": 1.5}),
    ("shufflenet_v2_x2_0", "shufflenet_v2", lambda **k: models.shufflenet_v2_x2_0(**k), {"width": 2.0}),
    ("mnasnet0_5", "mnasnet", lambda **k: models.mnasnet0_5(**k), {"alpha": 0.5}),
    ("mnasnet0_75", "mnasnet", lambda **k: models.mnasnet0_75(**k), {"alpha": 0.75}),
    ("mnasnet1_0", "mnasnet", lambda **k: models.mnasnet1_0(**k), {"alpha": 1.0}),
    ("mnasnet1_3", "mnasnet", lambda **k: models.mnasnet1_3(**k), {"alpha": 1.3}),
    ("efficientnet_b0", "efficientnet_b0", lambda **k: models.efficientnet_b0(**k), {}),
]

LOGITS_SIZE = 67
LOGITS_CLASSES = 10


def main():
    out = {
        "generator": "tools/zoo-fixtures.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "macsInput": [1, 3, 224, 224],
        "logits": {"input": [1, 3, LOGITS_SIZE, LOGITS_SIZE], "numClasses": LOGITS_CLASSES, "inputKey": "input",
                   "oracle": "float64 eval mode, state dict and input from the key hash"},
        "families": {},
        "models": [],
    }
    for name, family, build, options in VARIANTS:
        torch.manual_seed(0)
        model = build().eval()
        sd = model.state_dict()
        keys = list(sd.keys())
        fam = out["families"].setdefault(family, keys)
        if fam != keys:
            sys.exit(f"{name}: keys differ from the first {family} variant")
        params = sum(p.numel() for p in model.parameters())
        macs = macs_at(model, 224)
        small = build(num_classes=LOGITS_CLASSES).eval()
        for k, v in small.state_dict().items():  # the state dict's tensors share memory with the model's
            v.copy_(torch.from_numpy(hashed_value(k, tuple(v.shape))))
        small = small.double()
        x = torch.from_numpy(hashed_value("input", (1, 3, LOGITS_SIZE, LOGITS_SIZE)).astype(np.float64))
        logits = small(x).reshape(-1).tolist()
        out["models"].append({
            "name": name,
            "family": family,
            "options": options,
            "shapes": [list(v.shape) for v in sd.values()],
            "int64": [i for i, v in enumerate(sd.values()) if v.dtype == torch.int64],
            "params": params,
            "macs": macs,
            "logits": logits,
        })
        print(name, len(keys), params, macs, "logit abs max %.3g" % max(abs(v) for v in logits), file=sys.stderr)
    with open("test/fixtures/zoo-torchvision.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
