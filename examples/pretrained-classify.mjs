// Classify an image with torchvision's pretrained weights, downloaded, SHA-256-checked and cached on
// first use (see docs/pretrained.md). Run `npm run build` first, then
//
//   node examples/pretrained-classify.mjs photo.jpg [mobilenet_v2 | mobilenet_v3_large | efficientnet_b0 | ...]
import { readFileSync } from 'node:fs';
import { decodeImage, imageToTensor, pretrainedModel, pretrainedWeights, topClasses } from 'sepconv';

const [path, arch = 'mobilenet_v2'] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: node examples/pretrained-classify.mjs <image.png|jpg> [arch]');

const mb = (bytes) => (bytes / 1e6).toFixed(1);
const onProgress = ({ receivedBytes: got, totalBytes: all }) => process.stderr.write(`\rdownloading ${arch}: ${mb(got)}${all === null ? '' : ` / ${mb(all)}`} MB${got === all ? '\n' : ''}`);
const model = await pretrainedModel(arch, 'DEFAULT', { onProgress });
const input = imageToTensor(await decodeImage(readFileSync(path)), pretrainedWeights(arch).preprocessing);
for (const { index, label, probability } of topClasses(model.forward(input))) {
  console.log(`${String(index).padStart(4)}  ${label.padEnd(24)} ${(100 * probability).toFixed(1)}%`);
}
