// A plain Node CommonJS consumer of the installed package: require('sepconv') (Node ≥ 20.19 / 22.12
// load the ES module), the same instance as import(), and a convolution checked against the reference.
'use strict';
const assert = require('node:assert/strict');
const sepconv = require('sepconv');
const { conv2d, referenceConv2d, tensor } = sepconv;

const x = tensor(Float32Array.from({ length: 2 * 5 * 5 }, (_, i) => Math.sin(i)), [1, 2, 5, 5]);
const w = tensor(Float32Array.from({ length: 3 * 2 * 3 * 3 }, (_, i) => Math.cos(i)), [3, 2, 3, 3]);
const y = conv2d(x, w, { padding: 1 });
const ref = referenceConv2d(x, w, { padding: 1 });
assert.deepEqual(y.shape, [1, 3, 5, 5]);
for (let i = 0; i < ref.data.length; i++) assert.ok(Math.abs(y.data[i] - ref.data[i]) <= 1e-4 * (1 + Math.abs(ref.data[i])), `index ${i}`);
import('sepconv').then((esm) => {
  assert.equal(esm.conv2d, conv2d, 'require and import give the same module');
  console.log(`cjs consumer ok: ${Object.keys(sepconv).length} exports`);
});
