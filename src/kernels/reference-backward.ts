/**
 * The reference backward of a convolution: the textbook loops in float64, padding modes resolved
 * by the same index arithmetic as the reference forward (reference.ts), so the gradient of a
 * padded tap lands on the input element that tap read. Slow and obviously correct; every
 * backward path is tested against it, and it is tested against finite differences of the
 * reference forward.
 *
 *   y[n,o,i,j]      = bias[o] + sum_{c,p,q} w[o,c,p,q] * x[n, G(o)+c, src(i*sh + p*dh - pt), src(j*sw + q*dw - pl)]
 *   gradInput[...]  += gradOutput[n,o,i,j] * w[o,c,p,q]          at every (n,o,i,j,c,p,q) whose tap is not a zero
 *   gradWeight[o,c,p,q] = sum_{n,i,j} gradOutput[n,o,i,j] * x[n, G(o)+c, src(..), src(..)]
 *   gradBias[o]     = sum_{n,i,j} gradOutput[n,o,i,j]
 */
import { checkShapeElements } from '../checks.js';
import type { Tensor, TensorLike } from '../tensor.js';
import { sourceIndex } from './reference.js';
import { validateConv2dBackward, type Conv2dBackwardOptions, type Conv2dGradients } from './validate-backward.js';

export function referenceConv2dBackward(
  gradOutput: TensorLike, input: TensorLike, weight: TensorLike, options?: Conv2dBackwardOptions,
): Conv2dGradients {
  const call = validateConv2dBackward(gradOutput, input, weight, options, 'referenceConv2dBackward');
  const g = call.geometry;
  const x = call.input.data;
  const w = call.weight.data;
  const dy = call.gradOutput.data;
  const cinPerGroup = g.inChannels / g.groups;
  const coutPerGroup = g.outChannels / g.groups;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(g.outChannels);
  for (let n = 0; n < g.batch; n++) {
    for (let o = 0; o < g.outChannels; o++) {
      const group = Math.floor(o / coutPerGroup);
      for (let i = 0; i < g.outHeight; i++) {
        for (let j = 0; j < g.outWidth; j++) {
          const d = dy[((n * g.outChannels + o) * g.outHeight + i) * g.outWidth + j]!;
          db[o] += d;
          for (let c = 0; c < cinPerGroup; c++) {
            const channel = group * cinPerGroup + c;
            for (let p = 0; p < g.kernelH; p++) {
              const row = sourceIndex(i * g.strideH + p * g.dilationH - g.padTop, g.inHeight, g.paddingMode);
              if (row < 0) continue;
              for (let q = 0; q < g.kernelW; q++) {
                const col = sourceIndex(j * g.strideW + q * g.dilationW - g.padLeft, g.inWidth, g.paddingMode);
                if (col < 0) continue;
                const xi = ((n * g.inChannels + channel) * g.inHeight + row) * g.inWidth + col;
                const wi = ((o * cinPerGroup + c) * g.kernelH + p) * g.kernelW + q;
                dx[xi] += d * w[wi]!;
                dw[wi] += d * x[xi]!;
              }
            }
          }
        }
      }
    }
  }
  const result = (values: Float64Array, shape: readonly number[]): Tensor => {
    const data = new Float32Array(checkShapeElements(shape, 'gradient'));
    data.set(values);
    return { shape: shape.slice(), data };
  };
  return {
    gradInput: call.needsInput ? result(dx, call.input.shape) : null,
    gradWeight: call.needsWeight ? result(dw, call.weight.shape) : null,
    gradBias: call.needsBias ? result(db, [g.outChannels]) : null,
  };
}
