/**
 * sepconv itself as benchmark engines, loaded from the built package (`dist/`), as a user would:
 * - `sepconv`: prepared plans (`prepareConv2d`) writing into preallocated outputs, so a timed
 *   call allocates nothing; falls back to `conv2d(..., { out })` on builds without plans.
 * - `reference`: `referenceConv2d`, the float64 seven-loop definition, timed on a subset only.
 */

/**
 * @typedef {object} Prepared
 * @property {() => void} run                 one timed call
 * @property {() => Float32Array} output      the NCHW result of one call (for the checks)
 * @property {() => void} dispose
 */

/**
 * @typedef {object} Engine
 * @property {string} name
 * @property {string} detail
 * @property {() => (void | Promise<void>)} activate
 * @property {(workload: any, input: Float32Array, weights: {data: Float32Array, shape: number[]}[]) => Promise<Prepared>} prepare
 */

/** Chains a list of layers through two ping-pong buffers sized for the largest activation. */
function pingPong(shapes) {
  const largest = Math.max(...shapes.map((s) => s.reduce((a, b) => a * b, 1)));
  const buffers = [new Float32Array(largest), new Float32Array(shapes.length > 1 ? largest : 0)];
  // Each layer writes to a view of exactly its output size; layer i writes buffer i % 2.
  return shapes.map((shape, i) => ({ shape, data: buffers[i % 2].subarray(0, shape.reduce((a, b) => a * b, 1)) }));
}

/**
 * @param {typeof import('../dist/index.js')} sep
 * @param {(spec: any) => number[]} inputShapeOf
 * @param {(spec: any) => object} optionsOf
 * @returns {Engine}
 */
export function createSepconvEngine(sep, inputShapeOf, optionsOf) {
  const hasPlans = typeof sep.prepareConv2d === 'function';
  return {
    name: 'sepconv',
    detail: hasPlans ? 'prepareConv2d plans, preallocated outputs' : 'conv2d with preallocated outputs (no prepareConv2d in this build)',
    activate() {},
    async prepare(workload, inputData, weights) {
      const input = { shape: inputShapeOf(workload.layers[0]), data: inputData };
      const outShapes = workload.layers.map((spec, i) =>
        sep.conv2dGeometry(inputShapeOf(spec), weights[i].shape, optionsOf(spec)).outputShape.slice());
      const outs = pingPong(outShapes);
      let layers;
      if (hasPlans) {
        layers = workload.layers.map((spec, i) => {
          const plan = sep.prepareConv2d(weights[i], optionsOf(spec));
          return { plan, call: (x, out) => plan.run(x, out) };
        });
      } else {
        layers = workload.layers.map((spec, i) => ({ plan: null, call: (x, out) => sep.conv2d(x, weights[i], { ...optionsOf(spec), out }) }));
      }
      const count = layers.length;
      const run = () => {
        let x = input;
        for (let i = 0; i < count; i++) {
          layers[i].call(x, outs[i]);
          x = outs[i];
        }
      };
      return {
        run,
        output() {
          run();
          return Float32Array.from(outs[count - 1].data);
        },
        /** Bytes held by the plans' scratch (0 when the build exposes no `scratchBytes`). */
        scratchBytes() {
          return layers.reduce((sum, l) => sum + (l.plan && typeof l.plan.scratchBytes === 'number' ? l.plan.scratchBytes : 0), 0);
        },
        /** Bytes of the activation buffers (the two ping-pong buffers, or the single output). */
        activationBytes() {
          const buffers = new Set(outs.map((o) => o.data.buffer));
          let total = 0;
          for (const b of buffers) total += b.byteLength;
          return total;
        },
        /** Runs the chain once, sampling the process's memory after every layer. */
        runSampled(sample) {
          let x = input;
          for (let i = 0; i < count; i++) {
            layers[i].call(x, outs[i]);
            x = outs[i];
            sample();
          }
        },
        dispose() {},
      };
    },
  };
}

/**
 * @param {typeof import('../dist/index.js')} sep
 * @returns {Engine}
 */
export function createReferenceEngine(sep, inputShapeOf, optionsOf) {
  return {
    name: 'reference',
    detail: 'referenceConv2d (float64 seven-loop definition)',
    activate() {},
    async prepare(workload, inputData, weights) {
      const input = { shape: inputShapeOf(workload.layers[0]), data: inputData };
      const forward = () => {
        let x = input;
        workload.layers.forEach((spec, i) => { x = sep.referenceConv2d(x, weights[i], optionsOf(spec)); });
        return x;
      };
      return {
        run() { forward(); },
        output() { return forward().data; },
        dispose() {},
      };
    },
  };
}
