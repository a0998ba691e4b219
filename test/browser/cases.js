/**
 * The computations run both in Node and in the browser page, from the same seeds, so their
 * outputs can be compared bit for bit. Plain JavaScript (no build step), so the page can import
 * it as a native module; `lib` is the built package's module namespace (`dist/index.js`).
 */

/** mulberry32, the same PRNG as the unit tests: deterministic floats in [0, 1). */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTensor(shape, random) {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = random() * 2 - 1;
  return { shape: shape.slice(), data };
}

/**
 * One conv2d call per kernel path (and padding mode), small enough to take milliseconds but
 * with borders, odd sizes and leftovers. `path` is the kernel the dispatcher is expected to use.
 */
export const CONV_CASES = [
  { name: 'depthwise 3x3 s1 p1 relu6', path: 'depthwise3x3s1', x: [2, 8, 15, 17], w: [8, 1, 3, 3], bias: true, options: { padding: 1, groups: 8, activation: 'relu6' } },
  { name: 'depthwise 3x3 s1 p0 K=2', path: 'depthwise3x3s1', x: [1, 4, 9, 8], w: [8, 1, 3, 3], bias: false, options: { groups: 4 } },
  { name: 'depthwise 3x3 s2 p1 relu', path: 'depthwise3x3s2', x: [1, 8, 16, 15], w: [8, 1, 3, 3], bias: true, options: { stride: 2, padding: 1, groups: 8, activation: 'relu' } },
  { name: 'depthwise 5x5 s[1,2] p2 K=2 (general)', path: 'depthwise', x: [1, 6, 13, 14], w: [12, 1, 5, 5], bias: true, options: { stride: [1, 2], padding: 2, groups: 6 } },
  { name: 'depthwise 3x3 dilation 2 (general)', path: 'depthwise', x: [1, 5, 12, 11], w: [5, 1, 3, 3], bias: false, options: { padding: 2, dilation: 2, groups: 5 } },
  { name: 'pointwise 16->24 bias', path: 'pointwise', x: [1, 16, 9, 11], w: [24, 16, 1, 1], bias: true, options: {} },
  { name: 'pointwise 8->12 stride 2 relu', path: 'pointwise', x: [2, 8, 7, 6], w: [12, 8, 1, 1], bias: true, options: { stride: 2, activation: 'relu' } },
  { name: 'grouped 3x3 groups=2', path: 'grouped', x: [1, 8, 10, 12], w: [12, 4, 3, 3], bias: true, options: { padding: 1, groups: 2 } },
  { name: 'dense 3x3 s2 p1 (groups=1)', path: 'grouped', x: [1, 3, 12, 13], w: [8, 3, 3, 3], bias: true, options: { stride: 2, padding: 1 } },
  { name: 'depthwise 3x3 reflect p1', path: 'depthwise3x3s1', x: [1, 4, 9, 10], w: [4, 1, 3, 3], bias: true, options: { padding: 1, groups: 4, paddingMode: 'reflect' } },
  { name: 'dense 3x3 reflect p[2,1]', path: 'grouped', x: [1, 3, 8, 9], w: [6, 3, 3, 3], bias: false, options: { padding: [2, 1], paddingMode: 'reflect' } },
  { name: 'dense 3x3 circular p1 unbatched', path: 'grouped', x: [3, 7, 6], w: [4, 3, 3, 3], bias: true, options: { padding: 1, paddingMode: 'circular' } },
];

/** max over i of |a − b| / (1 + |b|): the unit tests' tolerance measure. */
export function maxRelativeError(actual, expected) {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(err <= worst)) worst = err; // NaN propagates as a failure
  }
  return worst;
}

/** Which kernel the dispatcher uses: for a padding mode other than zeros, the kernel after padding. */
function kernelPathOf(lib, xShape, wShape, options) {
  const g = lib.conv2dGeometry(xShape, wShape, options);
  if (g.paddingMode === 'zeros') return lib.selectKernelPath(g);
  return lib.selectKernelPath({
    ...g,
    inHeight: g.inHeight + g.padTop + g.padBottom,
    inWidth: g.inWidth + g.padLeft + g.padRight,
    padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, paddingMode: 'zeros',
  });
}

/**
 * Runs every case with `lib`. Each result: `{ name, kind, path?, shape, data, referenceError? }`,
 * where `referenceError` compares the conv with the library's float64 reference.
 */
export function runCases(lib) {
  const results = [];
  CONV_CASES.forEach((c, index) => {
    const random = rng(1000 + index);
    const x = randomTensor(c.x, random);
    const w = randomTensor(c.w, random);
    const options = { ...c.options };
    if (c.bias) options.bias = randomTensor([c.w[0]], random).data;
    const y = lib.conv2d(x, w, options);
    const reference = lib.referenceConv2d(x, w, options);
    results.push({
      name: c.name,
      kind: 'conv2d',
      expectedPath: c.path,
      path: kernelPathOf(lib, c.x, c.w, c.options),
      shape: y.shape.slice(),
      data: y.data,
      referenceError: maxRelativeError(y.data, reference.data),
    });
  });
  results.push(...runLayerCases(lib));
  return results;
}

/** The layer exports the layer cases need; the runner fails if the package lacks them. */
export const LAYER_EXPORTS = ['DepthwiseSeparableConv2d', 'mobilenetV1'];

/**
 * Gives every BatchNorm non-trivial statistics (the fresh model's are the identity), so the
 * normalisation arithmetic is part of the comparison. Deterministic: keys are visited in order.
 */
function randomizeBatchNorms(model, random) {
  const state = model.stateDict();
  const updates = {};
  for (const [key, t] of Object.entries(state)) {
    const isBatchNorm = key.endsWith('running_var') || key.endsWith('running_mean') || state[key.replace(/[^.]+$/, 'running_var')] !== undefined;
    if (!isBatchNorm || key.endsWith('num_batches_tracked')) continue;
    const data = new Float32Array(t.data.length);
    for (let i = 0; i < data.length; i++) {
      const u = random();
      if (key.endsWith('running_var')) data[i] = 0.5 + u;
      else if (key.endsWith('weight')) data[i] = 0.8 + 0.4 * u;
      else data[i] = 0.2 * (u * 2 - 1);
    }
    updates[key] = { shape: t.shape.slice(), data };
  }
  model.loadStateDict(updates, { strict: false });
}

function layerResult(name, y) {
  return { name, kind: 'layer', shape: y.shape.slice(), data: Float32Array.from(y.data) };
}

export function runLayerCases(lib) {
  if (!LAYER_EXPORTS.every((name) => name in lib)) return [];
  const results = [];
  const random = rng(2024);

  const separable = new lib.DepthwiseSeparableConv2d({ inChannels: 8, kernelsPerLayer: 2, outChannels: 12, seed: 3 });
  results.push(layerResult('DepthwiseSeparableConv2d 8x2->12', separable.forward(randomTensor([2, 8, 13, 11], random))));
  const strided = new lib.DepthwiseSeparableConv2d({ inChannels: 6, outChannels: 10, stride: 2, paddingMode: 'reflect', seed: 4 });
  results.push(layerResult('DepthwiseSeparableConv2d s2 reflect', strided.forward(randomTensor([1, 6, 15, 16], random))));

  const model = lib.mobilenetV1({ widthMultiplier: 0.25, numClasses: 10, seed: 0 });
  randomizeBatchNorms(model, random);
  const image = randomTensor([1, 3, 64, 64], random);
  results.push(layerResult('MobileNetV1 w0.25 64x64 forward', model.forward(image)));
  if (typeof model.compile === 'function') {
    results.push(layerResult('MobileNetV1 w0.25 64x64 compiled run', model.compile(image.shape).run(image)));
  }
  return results;
}
