// The network this project started from, in sepconv: PyTorch's depthwise_conv, pointwise_conv and
// depthwise_separable_conv classes, chained with ReLUs. Run `npm run build` first, then
// `node examples/seed-network.mjs`.
import {
  DepthwiseConv2d, DepthwiseSeparableConv2d, PointwiseConv2d, ReLU, Sequential, depthwise_separable_conv, pointwise_conv,
} from 'sepconv';

// depthwise_conv(nin=3, kernels_per_layer=2) and pointwise_conv(nin=6, nout=16) ...
const depthwise = new DepthwiseConv2d({ inChannels: 3, kernelsPerLayer: 2, seed: 0 });
const pointwise = new PointwiseConv2d({ inChannels: 6, outChannels: 16, seed: 1 });
console.log(String(depthwise), String(pointwise));

// ... and depthwise_separable_conv(nin, kernels_per_layer, nout) blocks in a small network.
const net = new Sequential(
  new DepthwiseSeparableConv2d({ inChannels: 3, kernelsPerLayer: 2, outChannels: 16, seed: 2 }),
  new ReLU(),
  new DepthwiseSeparableConv2d({ inChannels: 16, outChannels: 32, stride: 2, seed: 3 }),
  new ReLU(),
);
console.log(String(net));
console.log('state-dict keys:', Object.keys(net.stateDict()).join(', '));
console.log('parameters:', net.numParameters());

const input = { shape: [1, 3, 64, 64], data: Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i)) };
const y = net.forward(input); // each ReLU is fused into the preceding pointwise conv
console.log('output shape:', y.shape.join('x'));

// For repeated inference on one input shape, compile: buffers and packed weights are reused.
const compiled = net.compile(input.shape);
const a = compiled.run(input);
const b = compiled.run(input);
console.log('compiled output equals forward:', a.data.every((v, i) => v === y.data[i]), '| same buffer each run:', a === b);

// The seed's own classes, ported line by line (same structure, keys and repr as the PyTorch code),
// so a state_dict saved from the seed's network loads unchanged.
const seed = new Sequential(new depthwise_separable_conv(3, 2, 16, { seed: 4 }), new ReLU(), new pointwise_conv(16, 8, { seed: 5 }));
console.log(String(seed));
console.log('seed state-dict keys:', Object.keys(seed.stateDict()).join(', '));
