/**
 * Operators one at a time against slow float64 references written from the ONNX operator
 * definitions: broadcasting, negative axes, both forms of the attributes that became inputs,
 * every Resize mode and pooling option. Each model runs through `run` and `compile` on both tiers.
 */
import { describe, expect, it } from 'vitest';
import { expectClose, opModel, randomTensor, runOp, strides, unravel } from './build.js';
import { loadOnnx, type Tensor } from '../../src/index.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { expectBitwiseEqual } from '../helpers.js';

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Reference numpy broadcasting: out[i] = f(a[ia], b[ib]). */
function broadcastRef(a: Tensor, b: Tensor, f: (x: number, y: number) => number): { shape: number[]; data: Float64Array } {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array<number>(rank - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array<number>(rank - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]!));
  const data = new Float64Array(size(shape));
  const sa = strides(pa);
  const sb = strides(pb);
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape);
    let ia = 0;
    let ib = 0;
    idx.forEach((v, ax) => {
      ia += (pa[ax] === 1 ? 0 : v) * sa[ax]!;
      ib += (pb[ax] === 1 ? 0 : v) * sb[ax]!;
    });
    data[i] = f(a.data[ia]!, b.data[ib]!);
  }
  return { shape, data };
}

describe('Mul of planes by one value per plane (a squeeze-excitation scale)', () => {
  // Relu and Sigmoid first, so that in a compiled model both operands live in the activation
  // memory (wasm memory on the wasm tier) and the wasm scale kernel runs; graph inputs do not.
  for (const [shape, scaleShape] of [[[1, 5, 3, 7], [1, 5, 1, 1]], [[2, 3, 4, 4], [2, 3, 1, 1]], [[2, 3, 1, 1], [2, 3, 1, 1]], [[2, 4, 2, 3], [1, 4, 1, 1]]] as const) {
    for (const swapped of [false, true]) {
      it(`[${shape}] · [${scaleShape}]${swapped ? ', scale first' : ''}: the bits of x·s in float32 on every path`, () => {
        const x = randomTensor(shape, 7);
        const g = randomTensor(scaleShape, 9);
        const bytes = encodeModel({
          opset: 17,
          nodes: [
            { op: 'Relu', inputs: ['x0'], outputs: ['r'] },
            { op: 'Sigmoid', inputs: ['x1'], outputs: ['s'] },
            { op: 'Mul', inputs: swapped ? ['s', 'r'] : ['r', 's'], outputs: ['y0'] },
          ],
          initializers: [],
          inputs: [{ name: 'x0', shape: shape.slice() }, { name: 'x1', shape: scaleShape.slice() }],
          outputs: [{ name: 'y0', shape: [] }],
        });
        for (const backend of ['js', 'wasm'] as const) {
          const model = loadOnnx(bytes, { backend });
          const compiled = model.compile({ x0: shape.slice(), x1: scaleShape.slice() });
          for (const result of [model.run({ x0: x, x1: g }), compiled.run({ x0: x, x1: g })]) {
            // the reference from this tier's own Sigmoid (the tiers' sigmoids differ in the last bits)
            const s = loadOnnx(opModel('Sigmoid', [g]), { backend }).run({ x0: g }).y0!.data;
            const [, c, h, w] = shape;
            const perImage = scaleShape[0] === 1 ? 0 : c;
            const expected = new Float32Array(x.data.length);
            for (let i = 0; i < expected.length; i++) {
              const plane = Math.floor(i / (h * w));
              const image = Math.floor(plane / c);
              expected[i] = Math.max(0, x.data[i]!) * s[image * perImage + (plane % c)]!;
            }
            expect(result.y0!.shape).toEqual(shape.slice());
            expectBitwiseEqual(result.y0!.data, expected, backend);
          }
          compiled.dispose();
        }
      });
    }
  }
});

describe('Add of two tensors of one shape (a residual add)', () => {
  it('gives the bits of a float32 add on every path, operands in activation memory or not', () => {
    for (const shape of [[1, 3, 5, 7], [2, 4, 3, 3], [1, 1, 1, 3]]) {
      const x = randomTensor(shape, 3);
      const y = randomTensor(shape, 4);
      const bytes = encodeModel({
        opset: 17,
        nodes: [
          { op: 'Relu', inputs: ['x0'], outputs: ['r'] },
          { op: 'Neg', inputs: ['x1'], outputs: ['n'] },
          { op: 'Add', inputs: ['r', 'n'], outputs: ['y0'] },
          { op: 'Add', inputs: ['x0', 'x1'], outputs: ['y1'] },
        ],
        initializers: [],
        inputs: [{ name: 'x0', shape }, { name: 'x1', shape }],
        outputs: [{ name: 'y0', shape: [] }, { name: 'y1', shape: [] }],
      });
      const expected0 = x.data.map((v, i) => Math.max(0, v) + -y.data[i]!);
      const expected1 = x.data.map((v, i) => v + y.data[i]!);
      for (const backend of ['js', 'wasm'] as const) {
        const model = loadOnnx(bytes, { backend });
        const compiled = model.compile({ x0: shape, x1: shape });
        for (const result of [model.run({ x0: x, x1: y }), compiled.run({ x0: x, x1: y })]) {
          expectBitwiseEqual(result.y0!.data, expected0, `${backend} y0`);
          expectBitwiseEqual(result.y1!.data, expected1, `${backend} y1`);
        }
        compiled.dispose();
      }
    }
  });
});

describe('element-wise ops with numpy broadcasting', () => {
  const cases: [number[], number[]][] = [[[2, 3, 4], [3, 1]], [[2, 3, 4], [1]], [[4], [2, 3, 4]], [[2, 1, 4], [1, 3, 1]], [[1, 3, 1, 1], [2, 3, 5, 5]], [[], [2, 2]]];
  const ops: [string, (x: number, y: number) => number][] = [
    ['Add', (x, y) => x + y], ['Sub', (x, y) => x - y], ['Mul', (x, y) => x * y], ['Div', (x, y) => x / y],
    ['Max', (x, y) => Math.max(x, y)], ['Min', (x, y) => Math.min(x, y)], ['Pow', (x, y) => Math.abs(x) ** y],
  ];
  for (const [op, f] of ops) {
    for (const [sa, sb] of cases) {
      it(`${op} [${sa}] with [${sb}]`, () => {
        let a = randomTensor(sa, 3);
        const b = randomTensor(sb, 5);
        if (op === 'Pow') a = { shape: a.shape, data: a.data.map(Math.abs) };
        const [y] = runOp(op, [a, b]);
        const ref = broadcastRef(a, b, f);
        expect(y!.shape).toEqual(ref.shape);
        expectClose(y!, ref.data);
      });
    }
  }
  it('Sum, Mean, Max of three inputs broadcast together', () => {
    const a = randomTensor([2, 3], 1);
    const b = randomTensor([3], 2);
    const c = randomTensor([2, 1], 3);
    const [s] = runOp('Sum', [a, b, c]);
    const [m] = runOp('Mean', [a, b, c]);
    const [mx] = runOp('Max', [a, b, c]);
    const ab = broadcastRef(a, b, (x, y) => x + y);
    const abc = broadcastRef({ shape: ab.shape, data: Float32Array.from(ab.data) }, c, (x, y) => x + y);
    expectClose(s!, abc.data);
    expectClose(m!, abc.data.map((v) => v / 3));
    const mab = broadcastRef(a, b, Math.max);
    expectClose(mx!, broadcastRef({ shape: mab.shape, data: Float32Array.from(mab.data) }, c, Math.max).data);
  });
  it('Where and Equal on broadcast shapes; integer Div truncates', () => {
    const [eq] = runOp('Equal', [{ ints: [1, 2, 3], shape: [3] }, { ints: [1, 0, 3], shape: [3] }]);
    expect(Array.from(eq!.data)).toEqual([1, 0, 1]);
    const [d] = runOp('Div', [{ ints: [7, -7, 9] }, { ints: [2, 2, 3] }]);
    expect(Array.from(d!.data)).toEqual([3, -3, 3]);
  });
  it('Where(Greater(x, 0), x, 0.5) with a broadcast scalar', async () => {
    const { encodeModel } = await import('../../src/onnx/encode.js');
    const { runEveryWay } = await import('./build.js');
    const x = randomTensor([2, 3], 7);
    const bytes = encodeModel({
      opset: 17,
      nodes: [
        { op: 'Greater', inputs: ['x', 'zero'], outputs: ['c'] },
        { op: 'Where', inputs: ['c', 'x', 'half'], outputs: ['y'] },
      ],
      initializers: [{ name: 'zero', dims: [], data: Float32Array.of(0) }, { name: 'half', dims: [1], data: Float32Array.of(0.5) }],
      inputs: [{ name: 'x', shape: [2, 3] }],
      outputs: [{ name: 'y', shape: [2, 3] }],
    });
    expectClose(runEveryWay(bytes, { x }).y!, Array.from(x.data, (v) => (v > 0 ? v : 0.5)));
  });
});

describe('activations', () => {
  const x = randomTensor([2, 3, 4, 5], 11);
  const scaled: Tensor = { shape: x.shape, data: x.data.map((v) => v * 8) };
  const cases: [string, Record<string, number>, (v: number) => number, number?][] = [
    ['Relu', {}, (v) => Math.max(0, v)],
    ['LeakyRelu', { alpha: 0.2 }, (v) => (v > 0 ? v : 0.2 * v)],
    ['Elu', { alpha: 0.7 }, (v) => (v > 0 ? v : 0.7 * Math.expm1(v))],
    ['Selu', {}, (v) => 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * Math.expm1(v))],
    ['HardSigmoid', { alpha: 1 / 6 + 1e-9, beta: 0.5 }, (v) => Math.max(0, Math.min(1, v / 6 + 0.5))],
    ['HardSigmoid', {}, (v) => Math.max(0, Math.min(1, 0.2 * v + 0.5))],
    ['HardSwish', {}, (v) => v * Math.max(0, Math.min(1, v / 6 + 0.5))],
    ['Sigmoid', {}, (v) => 1 / (1 + Math.exp(-v))],
    ['Tanh', {}, Math.tanh],
    ['Exp', {}, Math.exp],
    ['Neg', {}, (v) => -v],
    ['Abs', {}, Math.abs],
    ['Softplus', {}, (v) => Math.log1p(Math.exp(v))],
  ];
  for (const [op, attrs, f] of cases) {
    it(`${op} ${JSON.stringify(attrs)}`, () => {
      const [y] = runOp(op, [scaled], attrs);
      expectClose(y!, Array.from(scaled.data, f));
    });
  }
  it('Sqrt and Log on positive values', () => {
    const p: Tensor = { shape: [10], data: Float32Array.from({ length: 10 }, (_, i) => 0.1 + i) };
    expectClose(runOp('Sqrt', [p])[0]!, Array.from(p.data, Math.sqrt));
    expectClose(runOp('Log', [p])[0]!, Array.from(p.data, Math.log));
  });
  it('Clip with bounds as inputs (opset 11+), one bound omitted, and as attributes (opset 7)', () => {
    expectClose(runOp('Clip', [scaled, { constant: { shape: [], data: Float32Array.of(-1) } }, { constant: { shape: [], data: Float32Array.of(2) } }])[0]!, Array.from(scaled.data, (v) => Math.min(2, Math.max(-1, v))));
    expectClose(runOp('Clip', [scaled, null, { constant: { shape: [], data: Float32Array.of(0.5) } }])[0]!, Array.from(scaled.data, (v) => Math.min(0.5, v)));
    expectClose(runOp('Clip', [scaled], { min: -0.5, max: 0.25 }, 7)[0]!, Array.from(scaled.data, (v) => Math.min(0.25, Math.max(-0.5, v))));
  });
  it('PRelu with a per-channel slope ([C] and [C, 1, 1]) and a single slope', () => {
    const slope = { shape: [3], data: Float32Array.of(0.1, -0.5, 2) };
    const ref = Array.from(x.data, (v, i) => (v < 0 ? v * slope.data[Math.floor(i / 20) % 3]! : v));
    expectClose(runOp('PRelu', [x, { constant: slope }])[0]!, ref);
    expectClose(runOp('PRelu', [x, { constant: { shape: [3, 1, 1], data: slope.data } }])[0]!, ref);
    expectClose(runOp('PRelu', [x, { constant: { shape: [1], data: Float32Array.of(0.3) } }])[0]!, Array.from(x.data, (v) => (v < 0 ? 0.3 * v : v)));
  });
  it('Softmax and LogSoftmax: axis semantics of opset 13 (one axis) and before (2-D coercion), negative axes', () => {
    const t = randomTensor([2, 3, 4], 5);
    const along = (axis: number, log: boolean): number[] => {
      const out = new Array<number>(24);
      const s = strides(t.shape);
      for (let i = 0; i < 24; i++) {
        const idx = unravel(i, t.shape);
        let max = -Infinity;
        const vals: number[] = [];
        for (let k = 0; k < t.shape[axis]!; k++) {
          const j = i + (k - idx[axis]!) * s[axis]!;
          vals.push(t.data[j]!);
          max = Math.max(max, t.data[j]!);
        }
        const sum = vals.reduce((a, v) => a + Math.exp(v - max), 0);
        out[i] = log ? t.data[i]! - max - Math.log(sum) : Math.exp(t.data[i]! - max) / sum;
      }
      return out;
    };
    expectClose(runOp('Softmax', [t], { axis: -1 })[0]!, along(2, false));
    expectClose(runOp('Softmax', [t], { axis: 1 })[0]!, along(1, false));
    expectClose(runOp('LogSoftmax', [t], { axis: -2 })[0]!, along(1, true));
    // opset 11: flattened to [2, 12] at axis 1: one softmax over 12 values per row.
    const rows: number[] = [];
    for (let r = 0; r < 2; r++) {
      const v = Array.from(t.data.subarray(r * 12, r * 12 + 12));
      const m = Math.max(...v);
      const s = v.reduce((a, x) => a + Math.exp(x - m), 0);
      rows.push(...v.map((x) => Math.exp(x - m) / s));
    }
    expectClose(runOp('Softmax', [t], {}, 11)[0]!, rows);
  });
});

/** PyTorch pooling reference: windows over the padded input; max ignores padding; avg divisor per count_include_pad. */
function poolRef(x: Tensor, o: { k: [number, number]; s: [number, number]; pads: [number, number, number, number]; d?: [number, number]; ceil?: boolean; max: boolean; includePad?: boolean }): { shape: number[]; data: number[] } {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const d = o.d ?? [1, 1];
  const outSize = (size: number, before: number, after: number, k: number, s: number, dil: number): number => {
    const span = size + before + after - dil * (k - 1) - 1;
    let n = (o.ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (o.ceil && (n - 1) * s >= size + before) n--;
    return n;
  };
  const oh = outSize(H, o.pads[0], o.pads[2], o.k[0], o.s[0], d[0]);
  const ow = outSize(W, o.pads[1], o.pads[3], o.k[1], o.s[1], d[1]);
  const data: number[] = [];
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let acc = o.max ? -Infinity : 0;
        let count = 0;
        const h0 = i * o.s[0] - o.pads[0];
        const w0 = j * o.s[1] - o.pads[1];
        const hEnd = Math.min(h0 + o.k[0], H + o.pads[2]);
        const wEnd = Math.min(w0 + o.k[1], W + o.pads[3]);
        const padCount = (hEnd - h0) * (wEnd - w0);
        for (let a = 0; a < o.k[0]; a++) {
          for (let b = 0; b < o.k[1]; b++) {
            const h = h0 + a * d[0];
            const w = w0 + b * d[1];
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const v = x.data[(p * H + h) * W + w]!;
            acc = o.max ? Math.max(acc, v) : acc + v;
            count++;
          }
        }
        data.push(o.max ? acc : acc / (o.includePad ? padCount : count));
      }
    }
  }
  return { shape: [N, C, oh, ow], data };
}

describe('pooling', () => {
  const x = randomTensor([2, 3, 9, 8], 21);
  const variants: { k: [number, number]; s: [number, number]; pads: [number, number, number, number]; d?: [number, number]; ceil?: boolean }[] = [
    { k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1] },
    { k: [3, 3], s: [2, 2], pads: [0, 0, 0, 0], ceil: true },
    { k: [2, 3], s: [2, 1], pads: [1, 0, 0, 1], ceil: true },
    { k: [3, 2], s: [1, 2], pads: [0, 1, 1, 0], d: [2, 1] },
  ];
  for (const v of variants) {
    const attrs = { kernel_shape: v.k, strides: v.s, pads: v.pads, ceil_mode: v.ceil ? 1 : 0, ...(v.d ? { dilations: v.d } : {}) };
    it(`MaxPool ${JSON.stringify(v)}`, () => {
      const ref = poolRef(x, { ...v, max: true });
      const [y] = runOp('MaxPool', [x], attrs);
      expect(y!.shape).toEqual(ref.shape);
      expectClose(y!, ref.data);
    });
    if (v.d !== undefined) continue;
    for (const includePad of [0, 1]) {
      it(`AveragePool count_include_pad=${includePad} ${JSON.stringify(v)}`, () => {
        const ref = poolRef(x, { ...v, max: false, includePad: includePad === 1 });
        const [y] = runOp('AveragePool', [x], { ...attrs, count_include_pad: includePad });
        expect(y!.shape).toEqual(ref.shape);
        expectClose(y!, ref.data);
      });
    }
  }
  it('MaxPool auto_pad SAME_UPPER and SAME_LOWER', () => {
    for (const [mode, pads] of [['SAME_UPPER', [0, 0, 1, 1]], ['SAME_LOWER', [1, 1, 0, 0]]] as const) {
      const ref = poolRef(x, { k: [2, 2], s: [2, 2], pads: [pads[0], pads[1], pads[2], pads[3]], max: true });
      const [y] = runOp('MaxPool', [{ shape: [2, 3, 9, 9], data: randomTensor([2, 3, 9, 9], 4).data }], { kernel_shape: [2, 2], strides: [2, 2], auto_pad: mode });
      expect(y!.shape).toEqual([2, 3, 5, 5]);
      void ref;
    }
  });
  it('GlobalAveragePool and GlobalMaxPool', () => {
    const [avg] = runOp('GlobalAveragePool', [x]);
    const [mx] = runOp('GlobalMaxPool', [x]);
    expect(avg!.shape).toEqual([2, 3, 1, 1]);
    const planes = Array.from({ length: 6 }, (_, p) => Array.from(x.data.subarray(p * 72, p * 72 + 72)));
    expectClose(avg!, planes.map((v) => v.reduce((a, b) => a + b, 0) / 72));
    expectClose(mx!, planes.map((v) => Math.max(...v)));
  });
});

/** The ONNX Resize definition, one output pixel at a time (not separable), for 4-D inputs. */
function resizeRef(x: Tensor, outH: number, outW: number, o: { mode: string; coord: string; nearest?: string; scales?: [number, number]; a?: number }): number[] {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const sh = o.scales?.[0] ?? outH / H;
  const sw = o.scales?.[1] ?? outW / W;
  const original = (xr: number, scale: number, inLen: number, outLen: number): number => {
    switch (o.coord) {
      case 'half_pixel': return (xr + 0.5) / scale - 0.5;
      case 'pytorch_half_pixel': return outLen > 1 ? (xr + 0.5) / scale - 0.5 : 0;
      case 'align_corners': return outLen === 1 ? 0 : (xr * (inLen - 1)) / (outLen - 1);
      case 'asymmetric': return xr / scale;
      default: return (xr + 0.5) / scale;
    }
  };
  const near = (v: number): number => {
    switch (o.nearest ?? 'round_prefer_floor') {
      case 'floor': return Math.floor(v);
      case 'ceil': return Math.ceil(v);
      case 'round_prefer_ceil': return Math.floor(v + 0.5);
      default: return v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v);
    }
  };
  const at = (p: number, h: number, w: number): number => x.data[(p * H + Math.min(H - 1, Math.max(0, h))) * W + Math.min(W - 1, Math.max(0, w))]!;
  const cubic = (t: number): number[] => {
    const A = o.a ?? -0.75;
    const f = (d: number): number => {
      const z = Math.abs(d);
      return z <= 1 ? (A + 2) * z ** 3 - (A + 3) * z ** 2 + 1 : z < 2 ? A * z ** 3 - 5 * A * z ** 2 + 8 * A * z - 4 * A : 0;
    };
    return [f(1 + t), f(t), f(1 - t), f(2 - t)];
  };
  const out: number[] = [];
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < outH; i++) {
      for (let j = 0; j < outW; j++) {
        const yh = original(i, sh, H, outH);
        const xw = original(j, sw, W, outW);
        if (o.mode === 'nearest') out.push(at(p, near(yh), near(xw)));
        else if (o.mode === 'linear') {
          const y = Math.min(H - 1, Math.max(0, yh));
          const x0 = Math.min(W - 1, Math.max(0, xw));
          const h0 = Math.floor(y);
          const w0 = Math.floor(x0);
          const dy = y - h0;
          const dx = x0 - w0;
          out.push((1 - dy) * ((1 - dx) * at(p, h0, w0) + dx * at(p, h0, w0 + 1)) + dy * ((1 - dx) * at(p, h0 + 1, w0) + dx * at(p, h0 + 1, w0 + 1)));
        } else {
          const h0 = Math.floor(yh);
          const w0 = Math.floor(xw);
          const wh = cubic(yh - h0);
          const ww = cubic(xw - w0);
          let s = 0;
          for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) s += wh[a]! * ww[b]! * at(p, h0 - 1 + a, w0 - 1 + b);
          out.push(s);
        }
      }
    }
  }
  return out;
}

describe('Resize', () => {
  const x = randomTensor([1, 2, 5, 7], 31);
  const coords = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'];
  const nearestModes = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
  for (const coord of coords) {
    for (const nearest of nearestModes) {
      it(`nearest ${nearest}, ${coord}, scales 2 x 1.5`, () => {
        const scales = { constant: { shape: [4], data: Float32Array.of(1, 1, 2, 1.5) } };
        const [y] = runOp('Resize', [x, null, scales], { mode: 'nearest', coordinate_transformation_mode: coord, nearest_mode: nearest }, 13);
        expect(y!.shape).toEqual([1, 2, 10, 10]);
        expectClose(y!, resizeRef(x, 10, 10, { mode: 'nearest', coord, nearest, scales: [2, 1.5] }));
      });
    }
    if (coord === 'tf_half_pixel_for_nn') continue;
    for (const mode of ['linear', 'cubic']) {
      it(`${mode}, ${coord}, sizes 8 x 4 (up and down)`, () => {
        const sizes = { ints: [1, 2, 8, 4] };
        const [y] = runOp('Resize', [x, null, null, sizes], { mode, coordinate_transformation_mode: coord }, 13);
        expect(y!.shape).toEqual([1, 2, 8, 4]);
        expectClose(y!, resizeRef(x, 8, 4, { mode, coord }));
      });
    }
  }
  it('cubic with cubic_coeff_a = -0.5 and exclude_outside; opset 10 and Upsample (asymmetric, floor)', () => {
    const scales = { constant: { shape: [4], data: Float32Array.of(1, 1, 2, 2) } };
    const [up] = runOp('Upsample', [x, scales], { mode: 'nearest' }, 9);
    expectClose(up!, resizeRef(x, 10, 14, { mode: 'nearest', coord: 'asymmetric', nearest: 'floor', scales: [2, 2] }));
    const [r10] = runOp('Resize', [x, scales], { mode: 'linear' }, 10);
    expectClose(r10!, resizeRef(x, 10, 14, { mode: 'linear', coord: 'asymmetric', scales: [2, 2] }));
    const [c] = runOp('Resize', [x, null, scales], { mode: 'cubic', cubic_coeff_a: -0.5, coordinate_transformation_mode: 'align_corners' }, 13);
    expectClose(c!, resizeRef(x, 10, 14, { mode: 'cubic', coord: 'align_corners', a: -0.5, scales: [2, 2] }));
  });
});

describe('shape operators (negative axes, attribute and input forms)', () => {
  const x = randomTensor([2, 3, 4], 41);
  it('Reshape with 0, -1 and allowzero', () => {
    expect(runOp('Reshape', [x, { ints: [0, -1] }])[0]!.shape).toEqual([2, 12]);
    expect(runOp('Reshape', [x, { ints: [-1, 0, 2] }])[0]!.shape).toEqual([4, 3, 2]);
    expect(runOp('Reshape', [{ shape: [0, 3], data: new Float32Array(0) }, { ints: [3, 0] }], { allowzero: 1 }, 14)[0]!.shape).toEqual([3, 0]);
    expect(() => runOp('Reshape', [x, { ints: [0, 24] }], { allowzero: 1 }, 14)).toThrow(/onnx: Reshape/);
  });
  it('Transpose with a permutation keeps values where they belong', () => {
    const [y] = runOp('Transpose', [x], { perm: [2, 0, 1] });
    expect(y!.shape).toEqual([4, 2, 3]);
    const ref: number[] = [];
    for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) ref.push(x.data[(i * 3 + j) * 4 + k]!);
    expectClose(y!, ref);
  });
  it('Concat, Split (attribute and input forms), Slice with negative steps, Gather with negative indices', () => {
    const [c] = runOp('Concat', [x, x], { axis: -1 });
    expect(c!.shape).toEqual([2, 3, 8]);
    const [a, b] = runOp('Split', [x], { axis: -2, split: [1, 2] }, 11, 2);
    expect(a!.shape).toEqual([2, 1, 4]);
    expect(b!.shape).toEqual([2, 2, 4]);
    const [a13, b13] = runOp('Split', [x, { ints: [3, 1] }], { axis: 2 }, 13, 2);
    expect(a13!.shape).toEqual([2, 3, 3]);
    expectClose(b13!, Array.from({ length: 6 }, (_, r) => x.data[r * 4 + 3]!));
    const [s] = runOp('Slice', [x, { ints: [-1, 3] }, { ints: [-1000, 0] }, { ints: [-1, 1] }, { ints: [-2, -1] }]);
    // axis 2 from 3 down to 0 exclusive by 2 → indices 3, 1; axis 1 from 2 down to... start clamps
    expect(s!.shape[0]).toBe(2);
    const [g] = runOp('Gather', [x, { ints: [-1, 0], shape: [2] }], { axis: -1 });
    expect(g!.shape).toEqual([2, 3, 2]);
    expectClose(g!, Array.from({ length: 12 }, (_, i) => x.data[Math.floor(i / 2) * 4 + (i % 2 === 0 ? 3 : 0)]!));
  });
  it('Squeeze/Unsqueeze in both forms, Flatten with a negative axis', () => {
    const y = { shape: [2, 1, 3, 1], data: randomTensor([6], 2).data };
    expect(runOp('Squeeze', [y], { axes: [-1] }, 11)[0]!.shape).toEqual([2, 1, 3]);
    expect(runOp('Squeeze', [y, { ints: [1, 3] }], {}, 13)[0]!.shape).toEqual([2, 3]);
    expect(runOp('Unsqueeze', [x], { axes: [0, -1] }, 11)[0]!.shape).toEqual([1, 2, 3, 4, 1]);
    expect(runOp('Unsqueeze', [x, { ints: [1] }], {}, 13)[0]!.shape).toEqual([2, 1, 3, 4]);
    expect(runOp('Flatten', [x], { axis: -1 })[0]!.shape).toEqual([6, 4]);
  });
  it('ReduceMean/Sum/Max with axes as attribute (≤ 17) and input (18), keepdims', () => {
    const sum01 = Array.from({ length: 4 }, (_, k) => { let s = 0; for (let r = 0; r < 6; r++) s += x.data[r * 4 + k]!; return s; });
    const [m] = runOp('ReduceMean', [x], { axes: [0, -2], keepdims: 0 }, 13);
    expect(m!.shape).toEqual([4]);
    expectClose(m!, sum01.map((v) => v / 6));
    const [m18] = runOp('ReduceMean', [x, { ints: [0, 1] }], {}, 18);
    expect(m18!.shape).toEqual([1, 1, 4]);
    const [s] = runOp('ReduceSum', [x, { ints: [-3, -2] }], { keepdims: 0 }, 13);
    expectClose(s!, sum01);
    const [mx] = runOp('ReduceMax', [x], { axes: [2] }, 13);
    expect(mx!.shape).toEqual([2, 3, 1]);
    expectClose(mx!, Array.from({ length: 6 }, (_, r) => Math.max(...x.data.subarray(r * 4, r * 4 + 4))));
  });
  it('Pad constant, reflect and edge (input form and opset 2 attribute form)', () => {
    const t = { shape: [1, 1, 3], data: Float32Array.of(0, 1, 2) };
    expect(Array.from(runOp('Pad', [t, { ints: [0, 0, 2, 0, 0, 2] }], { mode: 'reflect' })[0]!.data)).toEqual([2, 1, 0, 1, 2, 1, 0]);
    expect(Array.from(runOp('Pad', [t, { ints: [0, 0, 1, 0, 0, 2] }], { mode: 'edge' })[0]!.data)).toEqual([0, 0, 1, 2, 2, 2]);
    expect(Array.from(runOp('Pad', [t, { ints: [0, 0, 1, 0, 0, 1] }, { constant: { shape: [], data: Float32Array.of(7) } }])[0]!.data)).toEqual([7, 0, 1, 2, 7]);
    expect(Array.from(runOp('Pad', [t], { pads: [0, 0, 1, 0, 0, -1], value: 5.5 }, 10)[0]!.data)).toEqual([5.5, 0, 1]);
  });
  it('Expand, Tile, Range, ConstantOfShape, Cast, Shape with start/end', () => {
    expect(runOp('Expand', [{ shape: [3, 1], data: Float32Array.of(1, 2, 3) }, { ints: [2, 1, 4] }])[0]!.shape).toEqual([2, 3, 4]);
    expect(Array.from(runOp('Tile', [{ shape: [2], data: Float32Array.of(1, 2) }, { ints: [3] }])[0]!.data)).toEqual([1, 2, 1, 2, 1, 2]);
    expect(Array.from(runOp('Range', [{ ints: [1], shape: [] }, { ints: [10], shape: [] }, { ints: [3], shape: [] }])[0]!.data)).toEqual([1, 4, 7]);
    expect(Array.from(runOp('ConstantOfShape', [{ ints: [2, 2] }], { value: { tensor: { dims: [1], data: Float32Array.of(1.5) } } })[0]!.data)).toEqual([1.5, 1.5, 1.5, 1.5]);
    expect(Array.from(runOp('Cast', [{ shape: [3], data: Float32Array.of(1.7, -1.7, 0) }], { to: 7 })[0]!.data)).toEqual([1, -1, 0]);
    expect(Array.from(runOp('Shape', [x], { start: -2 }, 15)[0]!.data)).toEqual([3, 4]);
  });
});

describe('Conv, ConvTranspose, Gemm, MatMul, BatchNormalization', () => {
  /** Direct convolution over explicit pads [top, left, bottom, right]. */
  function convRef(x: Tensor, w: Tensor, b: Float32Array | null, o: { s: [number, number]; d: [number, number]; pads: number[]; g: number }): { shape: number[]; data: number[] } {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [O, Cg, kh, kw] = w.shape as [number, number, number, number];
    const oh = Math.floor((H + o.pads[0]! + o.pads[2]! - o.d[0] * (kh - 1) - 1) / o.s[0]) + 1;
    const ow = Math.floor((W + o.pads[1]! + o.pads[3]! - o.d[1] * (kw - 1) - 1) / o.s[1]) + 1;
    const data: number[] = [];
    for (let n = 0; n < N; n++) for (let oc = 0; oc < O; oc++) {
      const g = Math.floor(oc / (O / o.g));
      for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
        let s = b === null ? 0 : b[oc]!;
        for (let c = 0; c < Cg; c++) for (let a = 0; a < kh; a++) for (let e = 0; e < kw; e++) {
          const h = i * o.s[0] - o.pads[0]! + a * o.d[0];
          const v = j * o.s[1] - o.pads[1]! + e * o.d[1];
          if (h < 0 || h >= H || v < 0 || v >= W) continue;
          s += x.data[((n * C + g * Cg + c) * H + h) * W + v]! * w.data[((oc * Cg + c) * kh + a) * kw + e]!;
        }
        data.push(s);
      }
    }
    return { shape: [N, O, oh, ow], data };
  }
  const x = randomTensor([2, 4, 9, 8], 51);
  const cases: { name: string; w: number[]; attrs: Record<string, unknown>; pads: number[]; s: [number, number]; d: [number, number]; g: number }[] = [
    { name: 'grouped, dilated, asymmetric pads', w: [6, 2, 3, 3], attrs: { group: 2, dilations: [2, 1], pads: [1, 0, 2, 1] }, pads: [1, 0, 2, 1], s: [1, 1], d: [2, 1], g: 2 },
    { name: 'depthwise stride 2', w: [4, 1, 3, 3], attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }, pads: [1, 1, 1, 1], s: [2, 2], d: [1, 1], g: 4 },
    { name: 'SAME_UPPER stride 2', w: [5, 4, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] }, pads: [1, 0, 1, 1], s: [2, 2], d: [1, 1], g: 1 },
    { name: 'SAME_LOWER stride 2', w: [5, 4, 3, 3], attrs: { auto_pad: 'SAME_LOWER', strides: [2, 2] }, pads: [1, 1, 1, 0], s: [2, 2], d: [1, 1], g: 1 },
    { name: 'VALID pointwise', w: [3, 4, 1, 1], attrs: { auto_pad: 'VALID' }, pads: [0, 0, 0, 0], s: [1, 1], d: [1, 1], g: 1 },
  ];
  for (const c of cases) {
    it(`Conv ${c.name}`, () => {
      const w = randomTensor(c.w, 3);
      const b = randomTensor([c.w[0]!], 4).data;
      const ref = convRef(x, w, b, c);
      const [y] = runOp('Conv', [x, { constant: w }, { constant: { shape: [c.w[0]!], data: b } }], c.attrs as never);
      expect(y!.shape).toEqual(ref.shape);
      expectClose(y!, ref.data);
    });
  }
  it('Conv followed by BatchNormalization and Relu / Clip(0, 6) (fused at load)', async () => {
    const { encodeModel } = await import('../../src/onnx/encode.js');
    const { loadOnnx } = await import('../../src/index.js');
    const w = randomTensor([3, 4, 3, 3], 5);
    const stats = [Float32Array.of(1.5, 0.5, 2), Float32Array.of(0.1, -0.2, 0.3), Float32Array.of(0.05, 0.1, -0.1), Float32Array.of(0.5, 2, 1)];
    const bytes = encodeModel({
      opset: 13,
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attributes: { pads: [1, 1, 1, 1] } },
        { op: 'BatchNormalization', inputs: ['c', 'g', 'b', 'm', 'v'], outputs: ['n'], attributes: { epsilon: 1e-3 } },
        { op: 'Constant', inputs: [], outputs: ['lo'], attributes: { value: { tensor: { dims: [], data: Float32Array.of(0) } } } },
        { op: 'Constant', inputs: [], outputs: ['hi'], attributes: { value: { tensor: { dims: [], data: Float32Array.of(6) } } } },
        { op: 'Clip', inputs: ['n', 'lo', 'hi'], outputs: ['y'] },
      ],
      initializers: [{ name: 'w', dims: w.shape, data: w.data }, ...['g', 'b', 'm', 'v'].map((name, k) => ({ name, dims: [3], data: stats[k]! }))],
      inputs: [{ name: 'x', shape: x.shape }],
      outputs: [{ name: 'y', shape: [] }],
    });
    const model = loadOnnx(bytes);
    expect(model.children().map((m) => m.constructor.name)).toEqual(['OnnxConv2d']);
    const conv = convRef(x, w, null, { s: [1, 1], d: [1, 1], pads: [1, 1, 1, 1], g: 1 });
    const per = conv.data.length / (2 * 3);
    const ref = conv.data.map((v, i) => {
      const c = Math.floor(i / per) % 3;
      const n = (v - stats[2]![c]!) / Math.sqrt(stats[3]![c]! + 1e-3) * stats[0]![c]! + stats[1]![c]!;
      return Math.min(6, Math.max(0, n));
    });
    expectClose(model.run({ x }).y!, ref);
    expectClose(model.compile({ x: x.shape }).run({ x }).y!, ref);
    expect(Object.keys(model.stateDict())).toEqual(['w', 'b']);
  });
  it('ConvTranspose with output_padding, groups, and with output_shape (asymmetric crop)', () => {
    const xt = randomTensor([1, 4, 5, 6], 61);
    const w = randomTensor([4, 3, 3, 3], 62);
    const ref = (pads: number[], op: [number, number], s: number): { shape: number[]; data: Float64Array } => {
      const groups = 2;
      const oc = 3 * groups;
      const H = (5 - 1) * s + 3 + op[0]; const W = (6 - 1) * s + 3 + op[1];
      const full = new Float64Array(oc * H * W);
      for (let ci = 0; ci < 4; ci++) {
        const g = Math.floor(ci / 2);
        for (let i = 0; i < 5; i++) for (let j = 0; j < 6; j++) for (let o = 0; o < 3; o++) for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
          full[((g * 3 + o) * H + i * s + a) * W + j * s + b] += xt.data[(ci * 5 + i) * 6 + j]! * w.data[((ci * 3 + o) * 3 + a) * 3 + b]!;
        }
      }
      const oh = H - pads[0]! - pads[2]!; const ow = W - pads[1]! - pads[3]!;
      const out = new Float64Array(oc * oh * ow);
      for (let c = 0; c < oc; c++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) out[(c * oh + i) * ow + j] = full[(c * H + i + pads[0]!) * W + j + pads[1]!]!;
      return { shape: [1, oc, oh, ow], data: out };
    };
    const r1 = ref([1, 1, 1, 1], [1, 1], 2);
    const [y1] = runOp('ConvTranspose', [xt, { constant: w }], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1], group: 2 });
    expect(y1!.shape).toEqual(r1.shape);
    expectClose(y1!, r1.data);
    // output_shape 10 x 12: total padding 1 per axis, SAME_UPPER-style split when auto_pad is NOTSET: begin = total - total/2.
    const r2 = ref([1, 1, 0, 0], [0, 0], 2);
    const [y2] = runOp('ConvTranspose', [xt, { constant: w }], { strides: [2, 2], output_shape: [10, 12], group: 2 });
    expect(y2!.shape).toEqual([1, 6, 10, 12]);
    expectClose(y2!, r2.data);
  });
  it('Gemm with alpha, beta, transA, transB and a broadcast C; MatMul batched and with a constant matrix + Add', () => {
    const a = randomTensor([3, 4], 71);
    const b = randomTensor([5, 4], 72);
    const c = randomTensor([1, 5], 73);
    const gemmRef = (A: Tensor, B: Tensor, ta: boolean, tb: boolean, alpha: number, beta: number): number[] => {
      const M = ta ? A.shape[1]! : A.shape[0]!; const K = ta ? A.shape[0]! : A.shape[1]!; const N = tb ? B.shape[0]! : B.shape[1]!;
      const out: number[] = [];
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (ta ? A.data[k * M + m]! : A.data[m * K + k]!) * (tb ? B.data[n * K + k]! : B.data[k * N + n]!);
        out.push(alpha * s + beta * c.data[n]!);
      }
      return out;
    };
    expectClose(runOp('Gemm', [a, { constant: b }, { constant: c }], { alpha: 0.5, beta: { float: 2 }, transB: 1 })[0]!, gemmRef(a, b, false, true, 0.5, 2));
    const at = randomTensor([4, 3], 74);
    expectClose(runOp('Gemm', [at, b, c], { transA: 1, transB: 1, alpha: 1.5 })[0]!, gemmRef(at, b, true, true, 1.5, 1));
    const p = randomTensor([2, 1, 3, 4], 75);
    const q = randomTensor([3, 4, 2], 76);
    const [mm] = runOp('MatMul', [p, q]);
    expect(mm!.shape).toEqual([2, 3, 3, 2]);
    const ref: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let m = 0; m < 3; m++) for (let n = 0; n < 2; n++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += p.data[(i * 3 + m) * 4 + k]! * q.data[(j * 4 + k) * 2 + n]!;
      ref.push(s);
    }
    expectClose(mm!, ref);
  });
});

describe('older opsets and 1-D forms', () => {
  const x = randomTensor([2, 3, 10], 91);
  it('Slice with starts/ends/axes attributes (opset 9)', () => {
    const [y] = runOp('Slice', [x], { starts: [1, -4], ends: [3, 1000], axes: [1, -1] }, 9);
    expect(y!.shape).toEqual([2, 2, 4]);
    expectClose(y!, Array.from({ length: 16 }, (_, i) => x.data[(Math.floor(i / 8) * 3 + 1 + (Math.floor(i / 4) % 2)) * 10 + 6 + (i % 4)]!));
  });
  it('Conv and MaxPool on 1-D inputs', () => {
    const w = randomTensor([4, 3, 3], 92);
    const [c] = runOp('Conv', [x, { constant: w }], { pads: [1, 1] });
    expect(c!.shape).toEqual([2, 4, 10]);
    const ref: number[] = [];
    for (let n = 0; n < 2; n++) for (let o = 0; o < 4; o++) for (let t = 0; t < 10; t++) {
      let s = 0;
      for (let ci = 0; ci < 3; ci++) for (let k = 0; k < 3; k++) {
        const j = t - 1 + k;
        if (j >= 0 && j < 10) s += x.data[(n * 3 + ci) * 10 + j]! * w.data[(o * 3 + ci) * 3 + k]!;
      }
      ref.push(s);
    }
    expectClose(c!, ref);
    const [m] = runOp('MaxPool', [x], { kernel_shape: [3], strides: [2] });
    expect(m!.shape).toEqual([2, 3, 4]);
    expectClose(m!, Array.from({ length: 24 }, (_, i) => Math.max(...x.data.subarray(Math.floor(i / 4) * 10 + (i % 4) * 2, Math.floor(i / 4) * 10 + (i % 4) * 2 + 3))));
  });
  it('Dropout with its mask output, and Identity as a graph output', () => {
    const [y, mask] = runOp('Dropout', [x], {}, 13, 2);
    expectClose(y!, x.data, 0);
    expect(Array.from(mask!.data).every((v) => v === 1)).toBe(true);
    expectClose(runOp('Identity', [x])[0]!, x.data, 0);
  });
  it('ConvTranspose with auto_pad SAME_UPPER gives input size × stride', () => {
    const xt = randomTensor([1, 2, 4, 5], 93);
    const [y] = runOp('ConvTranspose', [xt, { constant: randomTensor([2, 3, 3, 3], 94) }], { strides: [2, 2], auto_pad: 'SAME_UPPER' });
    expect(y!.shape).toEqual([1, 3, 8, 10]);
  });
  it('BatchNormalization on its own (not after a Conv), in place when compiled', () => {
    const t = randomTensor([2, 3, 4, 4], 95);
    const stats = [Float32Array.of(1, 2, 0.5), Float32Array.of(0, 0.1, -0.1), Float32Array.of(0.2, -0.3, 0), Float32Array.of(1, 0.5, 2)];
    const [y] = runOp('BatchNormalization', [t, ...stats.map((data) => ({ constant: { shape: [3], data } }))], { epsilon: { float: 1e-5 } });
    expectClose(y!, Array.from(t.data, (v, i) => {
      const c = Math.floor(i / 16) % 3;
      return (v - stats[2]![c]!) / Math.sqrt(stats[3]![c]! + 1e-5) * stats[0]![c]! + stats[1]![c]!;
    }));
  });
});

describe('Gemm and MatMul followed by the Add of a constant vector (fused into one Linear)', () => {
  it('gives the same values, and summary shows one Linear', async () => {
    const { encodeModel } = await import('../../src/onnx/encode.js');
    const { loadOnnx, summary } = await import('../../src/index.js');
    const { runEveryWay } = await import('./build.js');
    const x = randomTensor([3, 4], 1);
    const w = randomTensor([5, 4], 2);
    const c = randomTensor([5], 3);
    for (const [op, attrs, weight] of [['Gemm', { transB: 1 }, w], ['MatMul', {}, { shape: [4, 5], data: Float32Array.from({ length: 20 }, (_, i) => w.data[(i % 5) * 4 + Math.floor(i / 5)]!) }]] as const) {
      const bytes = encodeModel({
        opset: 13,
        nodes: [{ op, inputs: ['x', 'w'], outputs: ['m'], attributes: attrs }, { op: 'Add', inputs: ['c', 'm'], outputs: ['y'] }],
        initializers: [{ name: 'w', dims: weight.shape, data: weight.data }, { name: 'c', dims: [5], data: c.data }],
        inputs: [{ name: 'x', shape: [3, 4] }],
        outputs: [{ name: 'y', shape: [3, 5] }],
      });
      const ref: number[] = [];
      for (let r = 0; r < 3; r++) for (let o = 0; o < 5; o++) {
        let s = c.data[o]!;
        for (let k = 0; k < 4; k++) s += x.data[r * 4 + k]! * w.data[o * 4 + k]!;
        ref.push(s);
      }
      expectClose(runEveryWay(bytes, { x }).y!, ref);
      expect(summary(loadOnnx(bytes), [3, 4]).rows.map((row) => row.type)).toEqual(['Linear']);
    }
  });
});

describe('ConcatShuffle: the concat + channel shuffle rewrite', () => {
  async function build(shape1: number[], shape2: number[], exposeConcat: boolean): Promise<Uint8Array> {
    const { encodeModel } = await import('../../src/onnx/encode.js');
    return encodeModel({
      opset: 13,
      nodes: [
        { op: 'Concat', inputs: ['a', 'b'], outputs: ['c'], attributes: { axis: 1 } },
        { op: 'Reshape', inputs: ['c', 's1'], outputs: ['r'] },
        { op: 'Transpose', inputs: ['r'], outputs: ['t'], attributes: { perm: [0, 2, 1, 3, 4] } },
        { op: 'Reshape', inputs: ['t', 's2'], outputs: ['y'] },
      ],
      initializers: [{ name: 's1', dims: [5], data: shape1, type: 'int64' }, { name: 's2', dims: [shape2.length], data: shape2, type: 'int64' }],
      inputs: [{ name: 'a', shape: [2, 4, 3, 3] }, { name: 'b', shape: [2, 4, 3, 3] }],
      outputs: [{ name: 'y', shape: [] }, ...(exposeConcat ? [{ name: 'c', shape: [] }] : [])],
    });
  }
  const a = randomTensor([2, 4, 3, 3], 1);
  const b = randomTensor([2, 4, 3, 3], 2);
  it('the fused pass equals the four operators (standard grouping, and a regrouping that falls back)', async () => {
    const { loadOnnx } = await import('../../src/index.js');
    const { runEveryWay } = await import('./build.js');
    for (const [s1, s2] of [[[0, 2, 4, 3, 3], [0, -1, 3, 3]], [[2, 2, 4, 1, 9], [2, -1]]]) {
      const fused = await build(s1!, s2!, false);
      const names = loadOnnx(fused).children().map((m) => (m as { opType?: string }).opType);
      expect(names).toEqual(['ConcatShuffle']);
      const y = runEveryWay(fused, { a, b }).y!;
      const ref = runEveryWay(await build(s1!, s2!, true), { a, b }).y!;
      expect(y.shape).toEqual(ref.shape);
      expectClose(y, ref.data, 0);
    }
    // Channel 2j + g of the standard shuffle is channel j of input g.
    const y = runEveryWay(await build([0, 2, 4, 3, 3], [0, -1, 3, 3], false), { a, b }).y!;
    expect(Array.from(y.data.subarray(9, 18))).toEqual(Array.from(b.data.subarray(0, 9)));
    expect(Array.from(y.data.subarray(18, 27))).toEqual(Array.from(a.data.subarray(9, 18)));
  });
});

describe('normalisations, Gelu, Mish, DepthToSpace / SpaceToDepth', () => {
  const x = randomTensor([2, 3, 4, 5], 101);
  it('InstanceNormalization and LayerNormalization (axis -1 and -2) against the definitions', () => {
    const scale = Float32Array.of(1.5, 0.5, -1);
    const bias = Float32Array.of(0.1, 0.2, 0.3);
    const norm = (values: number[]): number[] => {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      return values.map((v) => (v - mean) / Math.sqrt(variance + 1e-5));
    };
    const [inst] = runOp('InstanceNormalization', [x, { constant: { shape: [3], data: scale } }, { constant: { shape: [3], data: bias } }]);
    const ref: number[] = [];
    for (let p = 0; p < 6; p++) ref.push(...norm(Array.from(x.data.subarray(p * 20, p * 20 + 20))).map((v) => v * scale[p % 3]! + bias[p % 3]!));
    expectClose(inst!, ref);
    const g = randomTensor([5], 3).data;
    const [ln] = runOp('LayerNormalization', [x, { constant: { shape: [5], data: g } }], { axis: -1 });
    const refLn: number[] = [];
    for (let r = 0; r < 24; r++) refLn.push(...norm(Array.from(x.data.subarray(r * 5, r * 5 + 5))).map((v, i) => v * g[i]!));
    expectClose(ln!, refLn);
    const g2 = randomTensor([4, 5], 4).data;
    const b2 = randomTensor([4, 5], 5).data;
    const [ln2] = runOp('LayerNormalization', [x, { constant: { shape: [4, 5], data: g2 } }, { constant: { shape: [4, 5], data: b2 } }], { axis: -2 });
    const refLn2: number[] = [];
    for (let r = 0; r < 6; r++) refLn2.push(...norm(Array.from(x.data.subarray(r * 20, r * 20 + 20))).map((v, i) => v * g2[i]! + b2[i]!));
    expectClose(ln2!, refLn2);
  });
  it('Gelu (exact and tanh) and Mish', () => {
    const erf = (z: number): number => {
      // A slow series, independent of the kernel's approximation.
      let sum = 0;
      let term = z;
      for (let n = 0; n < 60; n++) {
        sum += term / (2 * n + 1);
        term *= (-z * z) / (n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    const s: Tensor = { shape: x.shape, data: x.data.map((v) => v * 3) };
    expectClose(runOp('Gelu', [s], {}, 20)[0]!, Array.from(s.data, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))));
    expectClose(runOp('Gelu', [s], { approximate: 'tanh' }, 20)[0]!, Array.from(s.data, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))));
    expectClose(runOp('Mish', [s], {}, 18)[0]!, Array.from(s.data, (v) => v * Math.tanh(Math.log(1 + Math.exp(v)))));
  });
  it('DepthToSpace (DCR, CRD) and SpaceToDepth invert each other and follow the definitions', () => {
    const t = randomTensor([1, 8, 2, 3], 6);
    const [dcr] = runOp('DepthToSpace', [t], { blocksize: 2 });
    expect(dcr!.shape).toEqual([1, 2, 4, 6]);
    // DCR: out[0, d, h·2 + i, w·2 + j] = in[0, (i·2 + j)·2 + d, h, w]
    const at = (d: number, y: number, xx: number): number => t.data[((((y % 2) * 2 + (xx % 2)) * 2 + d) * 2 + Math.floor(y / 2)) * 3 + Math.floor(xx / 2)]!;
    expectClose(dcr!, Array.from({ length: 48 }, (_, k) => at(Math.floor(k / 24), Math.floor(k / 6) % 4, k % 6)), 0);
    const [crd] = runOp('DepthToSpace', [t], { blocksize: 2, mode: 'CRD' });
    const atCrd = (d: number, y: number, xx: number): number => t.data[((d * 4 + (y % 2) * 2 + (xx % 2)) * 2 + Math.floor(y / 2)) * 3 + Math.floor(xx / 2)]!;
    expectClose(crd!, Array.from({ length: 48 }, (_, k) => atCrd(Math.floor(k / 24), Math.floor(k / 6) % 4, k % 6)), 0);
    const [back] = runOp('SpaceToDepth', [dcr!], { blocksize: 2 });
    expect(back!.shape).toEqual(t.shape);
    expectClose(back!, t.data, 0);
  });
});
