/**
 * TensorFlow.js as a benchmark peer: `@tensorflow/tfjs-core` with the `cpu` backend (plain JS) or
 * the `wasm` backend (XNNPACK, SIMD, one thread), fed the same numbers as sepconv in TensorFlow's
 * own layouts: NHWC activations, HWIO conv filters, `[kh, kw, C, K]` depthwise filters, grouped
 * convolutions as split + conv2d + concat, and explicit `[[0,0],[t,b],[l,r],[0,0]]` padding.
 *
 * Everything runs offline: the wasm binaries are loaded from the installed package.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

let tf = null;
let wasmBackend = null;

/** Loads tfjs-core and both backends once, pointing the wasm backend at the installed binaries. */
async function loadTfjs() {
  if (tf !== null) return tf;
  tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasmBackend.setWasmPaths(wasmDir);
  // Node has no cross-origin-isolated SharedArrayBuffer threads here, so tfjs picks the
  // non-threaded SIMD binary; the call makes "one thread" explicit should that ever change.
  wasmBackend.setThreadsCount(1);
  return tf;
}

/** NCHW (batch 1) → NHWC. */
function toNhwc(data, channels, height, width) {
  const out = new Float32Array(data.length);
  const plane = height * width;
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < plane; p++) out[p * channels + c] = data[c * plane + p];
  }
  return out;
}

/** NHWC (batch 1) → NCHW. */
export function toNchw(data, channels, height, width) {
  const out = new Float32Array(data.length);
  const plane = height * width;
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < plane; p++) out[c * plane + p] = data[p * channels + c];
  }
  return out;
}

/**
 * PyTorch `[Cout, Cin/g, kh, kw]` rows `[oStart, oStart + oCount)` → HWIO `[kh, kw, Cin/g, oCount]`.
 * For a depthwise weight `[C·K, 1, kh, kw]` the result `[kh, kw, 1, C·K]` has the same element order
 * as TensorFlow's depthwise filter `[kh, kw, C, K]` (output channel c·K + q ↔ filter [.., c, q]).
 */
function toHwio(weight, shape, oStart, oCount) {
  const [, cin, kh, kw] = shape;
  const out = new Float32Array(oCount * cin * kh * kw);
  for (let o = 0; o < oCount; o++) {
    for (let c = 0; c < cin; c++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          out[((i * kw + j) * cin + c) * oCount + o] = weight[(((oStart + o) * cin + c) * kh + i) * kw + j];
        }
      }
    }
  }
  return out;
}

/**
 * One layer as a function of an NHWC tfjs tensor, with its filters already uploaded to the
 * active backend.
 */
function makeLayer(spec, weight, shape) {
  const { inChannels: cin, outChannels: cout, kernel: k, stride, pad, groups } = spec;
  const padding = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
  const filters = [];
  let apply;
  if (groups === 1) {
    const f = tf.tensor4d(toHwio(weight, shape, 0, cout), [k, k, cin, cout]);
    filters.push(f);
    apply = (x) => tf.conv2d(x, f, stride, padding);
  } else if (groups === cin) {
    const multiplier = cout / cin;
    const f = tf.tensor4d(toHwio(weight, shape, 0, cout), [k, k, cin, multiplier]);
    filters.push(f);
    apply = (x) => tf.depthwiseConv2d(x, f, stride, padding);
  } else {
    const perGroup = cout / groups;
    for (let g = 0; g < groups; g++) {
      filters.push(tf.tensor4d(toHwio(weight, shape, g * perGroup, perGroup), [k, k, cin / groups, perGroup]));
    }
    apply = (x) => tf.tidy(() => {
      const parts = tf.split(x, groups, 3);
      return tf.concat(parts.map((part, g) => tf.conv2d(part, filters[g], stride, padding)), 3);
    });
  }
  return { apply, filters };
}

/**
 * @param {'cpu' | 'wasm'} backend
 * @returns {Promise<import('../run.mjs').Engine>}
 */
export async function createTfjsEngine(backend) {
  await loadTfjs();
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`tfjs: backend '${backend}' failed to initialise`);
  await tf.ready();
  if (backend === 'cpu') {
    // The cpu backend prints a "install tfjs-node" banner on its first tensor; tfjs-node (native
    // TensorFlow) is not a pure-JS peer, and the banner would only interrupt the progress lines.
    const cpu = tf.findBackend('cpu');
    if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
  }
  let detail = `tfjs-core ${tf.version_core}, ${backend} backend`;
  if (backend === 'wasm') {
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    if (!simd) throw new Error('tfjs-wasm: this Node has no wasm SIMD; the peer would not be the SIMD build the bench claims');
    detail += `, SIMD, ${threads ? `threads available, set to ${wasmBackend.getThreadsCount()}` : '1 thread (non-threaded binary)'}`;
  }
  return {
    name: `tfjs-${backend}`,
    detail,
    /** Makes this engine's backend the active one; tasks of other engines may run in between. */
    async activate() {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
    },
    /**
     * @param {import('../workloads.mjs').Workload} workload
     * @param {Float32Array} input NCHW
     * @param {{data: Float32Array, shape: number[]}[]} weights PyTorch layout, one per layer
     */
    async prepare(workload, input, weights) {
      await this.activate();
      const first = workload.layers[0];
      const x = tf.tensor4d(toNhwc(input, first.inChannels, first.height, first.width), [1, first.height, first.width, first.inChannels]);
      const layers = workload.layers.map((spec, i) => makeLayer(spec, weights[i].data, weights[i].shape));
      const forward = () => {
        let h = x;
        for (const layer of layers) {
          const next = layer.apply(h);
          if (h !== x) h.dispose();
          h = next;
        }
        return h;
      };
      return {
        run() {
          forward().dispose();
        },
        /** The output in NCHW, for the check against sepconv. */
        output() {
          const y = forward();
          const [, height, width, channels] = y.shape;
          const data = toNchw(y.dataSync(), channels, height, width);
          y.dispose();
          return data;
        },
        /** Peak bytes of live tfjs tensors during one forward pass (backend-internal scratch not included). */
        async peakTensorBytes() {
          if (tf.getBackend() !== backend) await tf.setBackend(backend);
          const info = await tf.profile(() => { forward().dispose(); });
          return info.peakBytes;
        },
        dispose() {
          x.dispose();
          for (const layer of layers) for (const f of layer.filters) f.dispose();
        },
      };
    },
  };
}

/**
 * TensorFlow.js cpu's gradients of one convolution (groups 1 or depthwise), the peer of
 * sepconv's conv2dBackward: the gradient kernels `tf.grads` of `conv2d` / `depthwiseConv2d` runs
 * (Conv2DBackpropInput + Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropInput + ...Filter),
 * called directly through the engine because tfjs-core's npm bundle leaves the gradient
 * registrations to the tfjs umbrella package. NCHW batch 1 in; `run()` computes both gradients;
 * `result()` returns them in sepconv's layouts (NCHW gradInput, PyTorch-layout gradWeight), so a
 * test can check that the bench times the same gradients.
 *
 * @param {import('../workloads.mjs').ConvSpec} spec
 * @param {Float32Array} input NCHW
 * @param {Float32Array} weight PyTorch layout
 * @param {Float32Array} gradOutput NCHW
 */
export async function createTfjsGradients(spec, input, weight, gradOutput) {
  await createTfjsEngine('cpu');
  const { inChannels: cin, outChannels: cout, kernel: k, stride, pad, groups, height, width } = spec;
  if (groups !== 1 && groups !== cin) throw new Error('createTfjsGradients: groups must be 1 or the input channels');
  const depthwise = groups !== 1;
  const padding = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
  const ho = Math.floor((height + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((width + 2 * pad - k) / stride) + 1;
  const shape = [cout, cin / groups, k, k];
  const x = tf.tensor4d(toNhwc(input, cin, height, width), [1, height, width, cin]);
  const dy = tf.tensor4d(toNhwc(gradOutput, cout, ho, wo), [1, ho, wo, cout]);
  const filterShape = depthwise ? [k, k, cin, cout / cin] : [k, k, cin, cout];
  const filter = tf.tensor4d(toHwio(weight, shape, 0, cout), filterShape);
  const engine = tf.engine();
  const common = { strides: [stride, stride], pad: padding, dimRoundingMode: undefined, dilations: [1, 1], dataFormat: 'NHWC' };
  const grads = () => depthwise
    ? [
      engine.runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...common, inputShape: x.shape }),
      engine.runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...common, filterShape }),
    ]
    : [
      engine.runKernel('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: x.shape }),
      engine.runKernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape }),
    ];
  return {
    run() {
      const [gx, gw] = grads();
      gx.dataSync();
      gw.dataSync();
      gx.dispose();
      gw.dispose();
    },
    /** `{ gradInput, gradWeight }` in NCHW and `[Cout, Cin/groups, k, k]`. */
    result() {
      const [gx, gw] = grads();
      const gradInput = toNchw(gx.dataSync(), cin, height, width);
      const hwio = gw.dataSync();
      const perGroup = cin / groups;
      const gradWeight = new Float32Array(weight.length);
      // HWIO [k, k, Cin/groups, Cout] (depthwise [k, k, C, K] has the same element order) → [Cout, Cin/groups, k, k].
      for (let o = 0; o < cout; o++) {
        for (let c = 0; c < perGroup; c++) {
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < k; j++) gradWeight[((o * perGroup + c) * k + i) * k + j] = hwio[((i * k + j) * perGroup + c) * cout + o];
          }
        }
      }
      gx.dispose();
      gw.dispose();
      return { gradInput, gradWeight };
    },
    dispose() {
      x.dispose();
      dy.dispose();
      filter.dispose();
    },
  };
}
