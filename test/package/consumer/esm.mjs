// A plain Node ESM consumer of the installed package: imports it by name, runs a convolution on
// each kind of kernel and checks it against the package's own float64 reference.
import assert from 'node:assert/strict';
import * as sepconv from 'sepconv';
import { conv2d, depthwiseConv2d, pointwiseConv2d, referenceConv2d, tensor, zeros } from 'sepconv';

let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const randomTensor = (shape) => tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, random), shape);

function assertClose(actual, expected, label) {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  for (let i = 0; i < expected.data.length; i++) {
    const err = Math.abs(actual.data[i] - expected.data[i]);
    assert.ok(err <= 1e-4 * (1 + Math.abs(expected.data[i])), `${label}: index ${i} got ${actual.data[i]}, expected ${expected.data[i]}`);
  }
}

const x = randomTensor([1, 4, 9, 9]);
const dw = randomTensor([4, 1, 3, 3]);
const pw = randomTensor([6, 4, 1, 1]);
const dense = randomTensor([5, 4, 3, 3]);

assertClose(depthwiseConv2d(x, dw, { padding: 1 }), referenceConv2d(x, dw, { padding: 1, groups: 4 }), 'depthwise');
assertClose(pointwiseConv2d(x, pw), referenceConv2d(x, pw), 'pointwise');
assertClose(conv2d(x, dense, { stride: 2, padding: 1 }), referenceConv2d(x, dense, { stride: 2, padding: 1 }), 'dense');
const out = zeros([1, 5, 9, 9]);
assert.equal(conv2d(x, dense, { padding: 'same', out }), out, 'out= is returned');
assert.throws(() => conv2d(x, dense, { groups: 3 }), RangeError, 'bad groups throws a RangeError');

const model = sepconv.mobilenetV1({ widthMultiplier: 0.25, numClasses: 7, seed: 0 });
const logits = model.forward(randomTensor([1, 3, 32, 32]));
assert.deepEqual(logits.shape, [1, 7], 'MobileNetV1 logits shape');
assert.ok(logits.data.every(Number.isFinite), 'MobileNetV1 logits are finite');

console.log(`esm consumer ok: ${Object.keys(sepconv).length} exports (${Object.keys(sepconv).sort().join(', ')})`);
