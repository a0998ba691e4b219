/**
 * Gemm and MatMul. With a constant right-hand side (a classifier head: `Linear` exports as
 * Gemm(transB=1), or MatMul + Add) the node becomes a sepconv `Linear` layer holding
 * `weight = alpha·op(B)ᵀ` and `bias = beta·C`, so summary counts it as one; a MatMul followed by
 * the Add of a constant vector is fused into it at load (fuse.ts gives the MatMul a third input).
 * Otherwise the product is computed directly (numpy's batched MatMul with broadcasting).
 */
import { Linear, linearRows } from '../../layers/linear.js';
import { planOutput } from '../../layers/plan-memory.js';
import { wasmRuntimeIfAvailable } from '../../ops/backend.js';
import { broadcastShapes, sizeOf, stridesOf, type OValue } from '../values.js';
import { computeKernel, info, layerWithWeights, nodeError, planned, type Info, type LoadContext, type NodeImpl, type OpDef } from './op.js';

/** A Linear layer holding `weight` `[N, K]` and `bias` (length N) or none. */
function linearLayer(label: string, weight: Float32Array, N: number, K: number, bias: Float32Array | null): Linear {
  return layerWithWeights(label, () => new Linear(K, N, { bias: bias !== null }), weight, bias);
}

/** The node as a Linear over the last axis of input 0. */
function linearImpl(label: string, layer: Linear, inputRank: number | null): NodeImpl {
  const K = layer.inFeatures;
  const N = layer.outFeatures;
  return {
    module: layer,
    specialize(inputs, env) {
      const x = inputs[0]!;
      if (x.dtype !== 'float32') throw nodeError(label, `input must be float, got ${x.dtype}`, 'type');
      if ((inputRank !== null && x.shape.length !== inputRank) || x.shape.length < 1 || x.shape[x.shape.length - 1] !== K) {
        throw nodeError(label, `input must be ${inputRank === 2 ? `[M, ${K}]` : `[..., ${K}]`}, got [${x.shape.join(', ')}]`);
      }
      const outShape = [...x.shape.slice(0, -1), N];
      const rows = sizeOf(x.shape) / K;
      const kernel = computeKernel([info('float32', outShape)], (ins, outs) => {
        linearRows(ins[0]!.data as Float32Array, rows, K, layer.weight.data, N, layer.bias?.data ?? null, outs[0]!.data as Float32Array);
      });
      return {
        ...kernel,
        plan(mayOverwrite) {
          // Compiled on the wasm tier: the weights copied into wasm memory once, each row a GEMV.
          const rt = wasmRuntimeIfAvailable(env.backend, 'onnx');
          if (rt === null) return kernel.plan(mayOverwrite);
          const gemv = layer.planGemv(rt, rows);
          const out = planOutput(outShape, 'output');
          const result: OValue[] = [{ dtype: 'float32', shape: outShape, data: out.data }];
          return planned((ins) => {
            gemv(ins[0]!.data as Float32Array, out.data);
            return result;
          }, [out.data]);
        },
      };
    },
  };
}

function matrix(v: OValue, label: string, what: string): Float32Array {
  if (v.dtype !== 'float32') throw nodeError(label, `${what} must be float, got ${v.dtype}`, 'type');
  return v.data;
}

const gemm: OpDef = {
  load(ctx) {
    const alpha = ctx.attrs.float('alpha', 1);
    const beta = ctx.attrs.float('beta', 1);
    const transA = ctx.attrs.int('transA', 0) === 1;
    const transB = ctx.attrs.int('transB', 0) === 1;
    const b = ctx.constant(1);
    const c = ctx.has(2) ? ctx.constant(2) : null;
    if (b !== null && !transA && (!ctx.has(2) || c !== null)) {
      if (b.shape.length !== 2) throw nodeError(ctx.label, `B must be 2-D, got shape [${b.shape.join(', ')}]`);
      const bData = matrix(b, ctx.label, 'B');
      const [K, N] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
      const weight = new Float32Array(N * K);
      for (let o = 0; o < N; o++) for (let k = 0; k < K; k++) weight[o * K + k] = alpha * (transB ? bData[o * K + k]! : bData[k * N + o]!);
      let bias: Float32Array | null = null;
      if (c !== null) {
        const cData = matrix(c, ctx.label, 'C');
        // A C that varies along M cannot be a bias vector: the general path below handles it.
        if (c.shape.length <= 1 || (c.shape.length === 2 && c.shape[0] === 1)) {
          const n = c.shape.length === 0 ? 1 : c.shape[c.shape.length - 1]!;
          if (n !== N && n !== 1) throw nodeError(ctx.label, `C of shape [${c.shape.join(', ')}] does not broadcast to [M, ${N}]`);
          bias = new Float32Array(N);
          for (let o = 0; o < N; o++) bias[o] = beta * cData[n === 1 ? 0 : o]!;
          return linearImpl(ctx.label, linearLayer(ctx.label, weight, N, K, bias), 2);
        }
      } else return linearImpl(ctx.label, linearLayer(ctx.label, weight, N, K, null), 2);
    }
    return {
      specialize(inputs) {
        const [a, bb, cc] = inputs as [Info, Info, Info | undefined];
        if (a.shape.length !== 2 || bb.shape.length !== 2) throw nodeError(ctx.label, `A and B must be 2-D, got [${a.shape.join(', ')}] and [${bb.shape.join(', ')}]`);
        const [M, K] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
        const [K2, N] = transB ? [bb.shape[1]!, bb.shape[0]!] : [bb.shape[0]!, bb.shape[1]!];
        if (K !== K2) throw nodeError(ctx.label, `inner dimensions differ: A gives ${K}, B gives ${K2}`);
        let cStrides: [number, number] = [0, 0];
        if (cc !== undefined) {
          const s = broadcastShapes([cc.shape, [M, N]]);
          if (s === null || s.length !== 2 || s[0] !== M || s[1] !== N) throw nodeError(ctx.label, `C of shape [${cc.shape.join(', ')}] does not broadcast to [${M}, ${N}]`);
          const c2 = [...new Array<number>(2 - cc.shape.length).fill(1), ...cc.shape];
          cStrides = [c2[0] === 1 ? 0 : N, c2[1] === 1 ? 0 : 1];
        }
        return computeKernel([info('float32', [M, N])], (ins, outs) => {
          const A = ins[0]!.data as Float32Array;
          const B = ins[1]!.data as Float32Array;
          const C = ins[2]?.data as Float32Array | undefined;
          const Y = outs[0]!.data as Float32Array;
          for (let m = 0; m < M; m++) {
            for (let n = 0; n < N; n++) {
              let s = 0;
              for (let k = 0; k < K; k++) s += (transA ? A[k * M + m]! : A[m * K + k]!) * (transB ? B[n * K + k]! : B[k * N + n]!);
              Y[m * N + n] = alpha * s + (C === undefined ? 0 : beta * C[m * cStrides[0] + n * cStrides[1]]!);
            }
          }
        });
      },
    };
  },
};

const matMul: OpDef = {
  load(ctx) {
    const b = ctx.constant(1);
    // fuse.ts appends the constant bias of a following Add as a third input.
    const bias = ctx.node.inputs.length > 2 ? ctx.constant(2) : null;
    if (b !== null && b.dtype === 'float32' && b.shape.length === 2) {
      const [K, N] = b.shape as [number, number];
      const weight = new Float32Array(N * K);
      for (let o = 0; o < N; o++) for (let k = 0; k < K; k++) weight[o * K + k] = b.data[k * N + o]!;
      return linearImpl(ctx.label, linearLayer(ctx.label, weight, N, K, bias === null ? null : (bias.data as Float32Array)), null);
    }
    return { specialize: (inputs) => batchedMatMul(ctx, inputs) };
  },
};

/** numpy matmul: 1-D operands promoted (and the added axis removed), batch axes broadcast. */
function batchedMatMul(ctx: LoadContext, inputs: readonly Info[]) {
  const [a, b] = inputs as [Info, Info];
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw nodeError(ctx.label, `inputs must be float, got ${a.dtype} and ${b.dtype}`, 'type');
  if (a.shape.length === 0 || b.shape.length === 0) throw nodeError(ctx.label, 'inputs must be at least 1-D');
  const aShape = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape.slice();
  const bShape = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape.slice();
  const M = aShape[aShape.length - 2]!;
  const K = aShape[aShape.length - 1]!;
  const N = bShape[bShape.length - 1]!;
  if (bShape[bShape.length - 2] !== K) throw nodeError(ctx.label, `inner dimensions differ: [${a.shape.join(', ')}] @ [${b.shape.join(', ')}]`);
  const batch = broadcastShapes([aShape.slice(0, -2), bShape.slice(0, -2)]);
  if (batch === null) throw nodeError(ctx.label, `batch dimensions of [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not broadcast`);
  const outShape = [...batch, ...(a.shape.length === 1 ? [] : [M]), ...(b.shape.length === 1 ? [] : [N])];
  const batches = sizeOf(batch);
  const offsets = (shape: readonly number[], size: number): Int32Array => {
    const own = shape.slice(0, -2);
    const padded = [...new Array<number>(batch.length - own.length).fill(1), ...own];
    const strides = stridesOf(padded);
    const out = new Int32Array(batches);
    const bStrides = stridesOf(batch);
    for (let i = 0; i < batches; i++) {
      let off = 0;
      for (let ax = 0; ax < batch.length; ax++) {
        const idx = Math.floor(i / bStrides[ax]!) % batch[ax]!;
        off += (padded[ax] === 1 ? 0 : idx) * strides[ax]!;
      }
      out[i] = off * size;
    }
    return out;
  };
  const aOff = offsets(aShape, M * K);
  const bOff = offsets(bShape, K * N);
  return computeKernel([info('float32', outShape)], (ins, outs) => {
    const A = ins[0]!.data as Float32Array;
    const B = ins[1]!.data as Float32Array;
    const Y = outs[0]!.data as Float32Array;
    for (let t = 0; t < batches; t++) {
      const ao = aOff[t]!;
      const bo = bOff[t]!;
      const yo = t * M * N;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += A[ao + m * K + k]! * B[bo + k * N + n]!;
          Y[yo + m * N + n] = s;
        }
      }
    }
  });
}

export const GEMM_OPS: Record<string, OpDef> = { Gemm: gemm, MatMul: matMul };
