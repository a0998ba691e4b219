/**
 * One slice of a convolution, as the pool hands it to a worker (or runs it on the calling thread):
 * the call's geometry and data plus the images and output channels this slice computes. Both
 * sides run a slice through `runTask`, so a value is computed by the same code wherever it lands.
 */
import { executeConv2d } from '../kernels/dispatch.js';
import type { Conv2dGeometry } from '../geometry.js';
import type { Scratch } from '../kernels/scratch.js';
import type { Conv2dCall } from '../kernels/validate.js';
import { runWasmSlice, type WasmConvCall } from '../ops/wasm-conv.js';
import type { WasmRuntime } from '../wasm/runtime.js';

export interface ConvTask {
  /** The whole call's geometry (already validated on the calling thread). */
  readonly geometry: Conv2dGeometry;
  readonly input: Float32Array;
  readonly weight: Float32Array;
  readonly bias: Float32Array | null;
  readonly act: number;
  /** The whole output; only this slice's part is written. */
  readonly output: Float32Array;
  readonly imageStart: number;
  readonly imageEnd: number;
  readonly channelStart: number;
  readonly channelEnd: number;
}

/** A slice of a call staged in the pool's shared wasm memory; `thread` picks the scratch. */
export interface WasmTask {
  readonly kind: 'wasm';
  readonly call: WasmConvCall;
  readonly thread: number;
  readonly imageStart: number;
  readonly imageEnd: number;
  readonly channelStart: number;
  readonly channelEnd: number;
}

export type PoolTask = ConvTask | WasmTask;

/** Runs either kind of slice; `runtime` is this thread's instance over the pool's shared memory. */
export function runPoolTask(task: PoolTask, scratch: Scratch, runtime: WasmRuntime | null): void {
  if ('kind' in task) {
    if (runtime === null) throw new Error('sepconv worker: a wasm slice arrived but this worker has no wasm kernels');
    runWasmSlice(runtime, task.call, task.thread, task.channelStart, task.channelEnd, task.imageStart, task.imageEnd);
  } else {
    runTask(task, scratch);
  }
}

/** Computes output channels `[channelStart, channelEnd)` of images `[imageStart, imageEnd)`. */
export function runTask(task: ConvTask, scratch: Scratch): void {
  const g = task.geometry;
  const { imageStart, imageEnd } = task;
  if (imageStart === 0 && imageEnd === g.batch) {
    executeConv2d(callOf(g, task.input, task.weight, task.bias, task.act), task.output, scratch, task.channelStart, task.channelEnd);
    return;
  }
  // Images are independent, so a run of whole images is the same convolution on a smaller batch.
  const inImage = g.inChannels * g.inHeight * g.inWidth;
  const outImage = g.outChannels * g.outHeight * g.outWidth;
  const sub: Conv2dGeometry = { ...g, batch: imageEnd - imageStart };
  const input = task.input.subarray(imageStart * inImage, imageEnd * inImage);
  const output = task.output.subarray(imageStart * outImage, imageEnd * outImage);
  executeConv2d(callOf(sub, input, task.weight, task.bias, task.act), output, scratch, task.channelStart, task.channelEnd);
}

function callOf(g: Conv2dGeometry, input: Float32Array, weight: Float32Array, bias: Float32Array | null, act: number): Conv2dCall {
  const weightShape = [g.outChannels, g.inChannels / g.groups, g.kernelH, g.kernelW];
  return {
    geometry: g,
    input: { shape: [g.batch, g.inChannels, g.inHeight, g.inWidth], data: input },
    weight: { shape: weightShape, data: weight },
    bias,
    act,
    out: null,
  };
}
