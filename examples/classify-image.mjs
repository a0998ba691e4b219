// Classify an image with one of sepconv's zoo models and torchvision's pretrained ImageNet weights:
// decode the PNG, preprocess it exactly as torchvision does, run the model, print the top classes.
// Run `npm run build` first, then
//
//   node examples/classify-image.mjs <arch> <weights.safetensors | weights.pth> <image.png> [--top 5]
//
// <arch> is a torchvision model name: mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small,
// shufflenet_v2_x0_5 / x1_0 / x1_5 / x2_0, mnasnet0_5 / 0_75 / 1_0 / 1_3, efficientnet_b0.
// The weights are torchvision's own state dict, for example mobilenet_v2-b0353104.pth from
// https://download.pytorch.org/models/ (a .pth needs a sepconv with loadTorchCheckpoint), or the
// same tensors saved as safetensors in Python:
//
//   import torchvision; from safetensors.torch import save_file
//   save_file(torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1").state_dict(), "mobilenet_v2.safetensors")
import { readFileSync } from 'node:fs';
import * as sepconv from 'sepconv';

const { decodeImage, imageToTensor, imagenetClasses, loadSafetensors, topClasses } = sepconv;

/** torchvision name → sepconv factory, and the Resize filter its ImageNet weights were evaluated with. */
const ARCHS = {
  mobilenet_v2: [() => sepconv.mobilenetV2(), 'bilinear'],
  mobilenet_v3_large: [() => sepconv.mobilenetV3Large(), 'bilinear'],
  mobilenet_v3_small: [() => sepconv.mobilenetV3Small(), 'bilinear'],
  shufflenet_v2_x0_5: [() => sepconv.shufflenetV2({ width: 0.5 }), 'bilinear'],
  shufflenet_v2_x1_0: [() => sepconv.shufflenetV2({ width: 1 }), 'bilinear'],
  shufflenet_v2_x1_5: [() => sepconv.shufflenetV2({ width: 1.5 }), 'bilinear'],
  shufflenet_v2_x2_0: [() => sepconv.shufflenetV2({ width: 2 }), 'bilinear'],
  mnasnet0_5: [() => sepconv.mnasnet({ alpha: 0.5 }), 'bilinear'],
  mnasnet0_75: [() => sepconv.mnasnet({ alpha: 0.75 }), 'bilinear'],
  mnasnet1_0: [() => sepconv.mnasnet({ alpha: 1 }), 'bilinear'],
  mnasnet1_3: [() => sepconv.mnasnet({ alpha: 1.3 }), 'bilinear'],
  efficientnet_b0: [() => sepconv.efficientnetB0(), 'bicubic'],
};

function usage(message) {
  if (message) console.error(`error: ${message}\n`);
  console.error('usage: node examples/classify-image.mjs <arch> <weights.safetensors|weights.pth> <image.png> [--top N]');
  console.error(`archs: ${Object.keys(ARCHS).join(', ')}`);
  process.exit(2);
}

const args = process.argv.slice(2);
let top = 5;
const topAt = args.indexOf('--top');
if (topAt >= 0) {
  top = Number(args[topAt + 1]);
  if (!Number.isInteger(top) || top < 1 || top > 1000) usage(`--top must be an integer from 1 to 1000, got ${args[topAt + 1]}`);
  args.splice(topAt, 2);
}
if (args.length !== 3) usage();
const [arch, weightsPath, imagePath] = args;
if (!Object.hasOwn(ARCHS, arch)) usage(`unknown arch ${JSON.stringify(arch)}`);
const [build, interpolation] = ARCHS[arch];

const ms = (start) => `${(performance.now() - start).toFixed(1)} ms`;

// 1. The model and its weights.
let t = performance.now();
const model = build().eval();
const weightBytes = new Uint8Array(readFileSync(weightsPath));
let stateDict;
if (/\.(pth|pt|bin)$/i.test(weightsPath)) {
  if (typeof sepconv.loadTorchCheckpoint !== 'function') usage('this build of sepconv has no loadTorchCheckpoint: convert the .pth to safetensors');
  stateDict = sepconv.loadTorchCheckpoint(weightBytes);
} else {
  stateDict = loadSafetensors(weightBytes);
}
model.loadStateDict(stateDict);
console.log(`${arch}: ${model.numParameters().toLocaleString('en')} parameters loaded from ${weightsPath} in ${ms(t)}`);

// 2. The image: decoded (PNG, or pixels from a canvas in a browser), then torchvision's
//    Resize(256) → CenterCrop(224) → ToTensor → Normalize(ImageNet mean, std).
t = performance.now();
const image = await decodeImage(new Uint8Array(readFileSync(imagePath)));
const decodeTime = ms(t);
t = performance.now();
const input = imageToTensor(image, { resize: 256, centerCrop: 224, interpolation });
console.log(`${imagePath}: ${image.width}×${image.height}, ${image.channels} channel(s); decoded in ${decodeTime}, preprocessed to [${input.shape.join(', ')}] in ${ms(t)}`);

// 3. Inference and the answer.
t = performance.now();
const logits = model.forward(input);
console.log(`forward pass: ${ms(t)}\n`);
for (const { index, label, probability } of topClasses(logits, { k: top, labels: imagenetClasses })) {
  console.log(`${String(index).padStart(4)}  ${(probability * 100).toFixed(2).padStart(6)}%  ${label}`);
}
