#!/usr/bin/env python3
"""Checks src/hub/weights.ts against torchvision's own weight enums.

For every model in the table: the weight sets torchvision defines, each set's URL, num_params,
ImageNet-1K acc@1/acc@5, preprocessing (resize, crop, interpolation, mean, std), number of
categories, and torchvision's DEFAULT. Models torchvision has weights for that the table lacks are
reported too. Needs torchvision >= 0.14 (Debian's python3-torchvision). Never run by CI.

Usage: python3 tools/check-weights-table.py   (exit code 0 when the table agrees)
"""
import re
import sys
from pathlib import Path

import torchvision
from torchvision.models import get_model_weights

TABLE = Path(__file__).resolve().parent.parent / 'src' / 'hub' / 'weights.ts'

# Deliberate differences from torchvision 0.14, with the reason.
KNOWN_URLS = {
    # 0.14's file name (…-3dd342df.pth) does not match the SHA-256 of the bytes served under it,
    # so torch hub's own check_hash refuses it; later torchvision releases point here instead
    # (pytorch/vision#7744, #8034).
    ('efficientnet_b0', 'IMAGENET1K_V1'): (
        'https://download.pytorch.org/models/efficientnet_b0_rwightman-3dd342df.pth',
        'https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth',
    ),
}

ROW = re.compile(
    r"\['(?P<arch>\w+)', '(?P<name>IMAGENET1K_V\d)', '(?P<file>[^']+)', (?P<params>\d+), "
    r"(?P<top1>[\d.]+), (?P<top5>[\d.]+), (?P<resize>\d+), '(?P<interp>\w+)'\]"
)
DEFAULT = re.compile(r"^\s+(?P<arch>\w+): '(?P<name>IMAGENET1K_V\d)',$", re.M)
ARCHS = re.compile(r"export const PRETRAINED_ARCHS = \[(?P<body>.*?)\] as const;", re.S)
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
BASE = 'https://download.pytorch.org/models/'


def main() -> int:
    text = TABLE.read_text()
    rows = [m.groupdict() for m in ROW.finditer(text)]
    defaults = {m['arch']: m['name'] for m in DEFAULT.finditer(text)}
    archs = re.findall(r"'(\w+)'", ARCHS.search(text)['body'])
    problems = []

    def check(what, ours, theirs):
        if ours != theirs:
            problems.append(f'{what}: table has {ours!r}, torchvision {theirs!r}')

    table = {(r['arch'], r['name']): r for r in rows}
    for arch in archs:
        enum = get_model_weights(arch)
        check(f'{arch} DEFAULT', defaults.get(arch), enum.DEFAULT.name)
        check(f'{arch} weight sets', sorted(n for a, n in table if a == arch), sorted(w.name for w in enum))
        for w in enum:
            row = table.get((arch, w.name))
            if row is None:
                continue
            where = f'{arch} {w.name}'
            url = BASE + row['file']
            known = KNOWN_URLS.get((arch, w.name))
            if known is not None and w.url == known[0]:
                check(f'{where} url (known rename)', url, known[1])
            else:
                check(f'{where} url', url, w.url)
            meta = w.meta
            check(f'{where} num_params', int(row['params']), meta['num_params'])
            metrics = meta['_metrics']['ImageNet-1K']
            check(f'{where} acc@1', float(row['top1']), metrics['acc@1'])
            check(f'{where} acc@5', float(row['top5']), metrics['acc@5'])
            check(f'{where} categories', 1000, len(meta['categories']))
            t = w.transforms()
            check(f'{where} resize', [int(row['resize'])], list(t.resize_size))
            check(f'{where} crop', [224], list(t.crop_size))
            check(f'{where} interpolation', row['interp'], t.interpolation.value)
            check(f'{where} mean', MEAN, list(t.mean))
            check(f'{where} std', STD, list(t.std))
    for arch, name in table:
        if arch not in archs:
            problems.append(f'{arch} {name}: not in PRETRAINED_ARCHS')
    print(f'torchvision {torchvision.__version__}: {len(rows)} weight sets of {len(archs)} models checked')
    for p in problems:
        print('MISMATCH', p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
