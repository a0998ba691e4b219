// The public API of sepconv: re-exports only.
export { tensor, zeros, shapeSize, asTensor, isNdArrayView } from './tensor.js';
export type { Tensor, TensorLike, NdArrayView, AllocOptions } from './tensor.js';
export { isInt64Tensor } from './int64.js';
export type { Int64Tensor, StateTensor, StateTensorLike } from './int64.js';
export { conv2dGeometry, convOutputSize, resolvePadding, resolvePair } from './geometry.js';
export type { Conv2dGeometry, GeometryOptions, Padding, ExplicitPadding, PaddingMode, IntPair } from './geometry.js';
export type { Activation } from './epilogue.js';
export type { Conv2dOptions } from './kernels/validate.js';
export { conv2d, depthwiseConv2d, pointwiseConv2d } from './ops/conv2d.js';
export { selectKernelPath } from './kernels/dispatch.js';
export type { KernelPath } from './kernels/dispatch.js';
export type { DepthwiseConv2dOptions, PointwiseConv2dOptions } from './ops/conv2d.js';
export { referenceConv2d } from './kernels/reference.js';
// Kernel tiers: WebAssembly SIMD ('wasm') or scalar JavaScript ('js'), chosen with setBackend.
export { setBackend, getBackend, backendInfo, ready, wasmZeros, releaseWasmTensor } from './ops/backend.js';
export type { Backend, BackendChoice, BackendInfo, SetBackendOptions } from './ops/backend.js';
export { prepareConv2d, Conv2dPlan } from './ops/plan.js';
export { conv2dBackward } from './ops/conv2d-backward.js';
export { selectBackwardPath } from './kernels/dispatch-backward.js';
export type { BackwardPath } from './kernels/dispatch-backward.js';
export type { Conv2dBackwardOptions, Conv2dBackwardNeeds, Conv2dGradients } from './kernels/validate-backward.js';
export { referenceConv2dBackward } from './kernels/reference-backward.js';
export { convTranspose2d, convTranspose2dBackward } from './ops/conv-transpose.js';
export type { ConvTranspose2dOptions, ConvTranspose2dBackwardOptions } from './ops/conv-transpose.js';
export { convTranspose2dGeometry, convTransposeOutputSize } from './geometry.js';
export type { ConvTranspose2dGeometry, ConvTranspose2dGeometryOptions } from './geometry.js';
export type { PrepareConv2dOptions } from './ops/plan.js';
// Worker pool: every core, over SharedArrayBuffer (Node worker_threads and browser Web Workers).
export { createWorkerPool, WorkerPool, WorkerPoolError } from './parallel/pool.js';
export type { WorkerPoolOptions, WorkerPoolStats } from './parallel/pool.js';
// Layers (PyTorch-style modules) and weight loading.
export { Module, StateDictError } from './layers/module.js';
export { CompiledModel } from './layers/compile.js';
export type { ConvRunner, ForwardAsyncOptions, LoadStateDictOptions, LoadStateDictResult, StateDict, ModuleCompileOptions } from './layers/module.js';
export type { PlanStep, CompileOptions, Compilable } from './layers/compile.js';
export { Generator, manualSeed, getDefaultGenerator } from './layers/init.js';
export type { InitOptions } from './layers/init.js';
export { Conv2d, DepthwiseConv2d, PointwiseConv2d, DepthwiseSeparableConv2d } from './layers/conv.js';
export type {
  Conv2dLayerOptions, DepthwiseConv2dLayerOptions, PointwiseConv2dLayerOptions, DepthwiseSeparableConv2dLayerOptions, FusedActivation,
} from './layers/conv.js';
export { depthwise_conv, pointwise_conv, depthwise_separable_conv, SeedBlock } from './layers/models/seed.js';
export { Parameter, parameter } from './layers/parameter.js';
export { ConvTranspose2d } from './layers/conv-transpose.js';
export type { ConvTranspose2dLayerOptions } from './layers/conv-transpose.js';
export { Dropout } from './layers/dropout.js';
export type { DropoutOptions } from './layers/dropout.js';
export { BatchNorm2d } from './layers/batchnorm.js';
export type { BatchNorm2dOptions } from './layers/batchnorm.js';
export { ReLU, ReLU6, LeakyReLU, Identity, Hardswish, Hardsigmoid, SiLU, Sigmoid } from './layers/activation.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, LPPool2d, MaxUnpool2d, poolOutputSize } from './layers/pooling.js';
export type {
  MaxPool2dOptions, AvgPool2dOptions, PoolPadding, AdaptiveOutputSize, AdaptiveMaxPool2dOptions, LPPool2dOptions, MaxUnpool2dOptions,
} from './layers/pooling.js';
export { Linear, Flatten } from './layers/linear.js';
export type { LinearOptions } from './layers/linear.js';
export { Sequential } from './layers/sequential.js';
export { MobileNetV1, mobilenetV1 } from './layers/models/mobilenet.js';
export type { MobileNetV1Options } from './layers/models/mobilenet.js';
// The torchvision zoo: torchvision 0.14's structures and state-dict keys, and their blocks.
export {
  MobileNetV2, mobilenetV2, MobileNetV3, mobilenetV3Large, mobilenetV3Small, ShuffleNetV2, shufflenetV2, MNASNet, mnasnet, EfficientNet, efficientnetB0,
} from './layers/models/index.js';
export type {
  MobileNetV2Options, MobileNetV3Options, ShuffleNetV2Options, ShuffleNetV2Width, MNASNetOptions, EfficientNetOptions, ZooOptions,
} from './layers/models/index.js';
export {
  InvertedResidual, InvertedResidualV3, MnasInvertedResidual, MBConv, ResidualBlock, makeDivisible,
} from './layers/blocks/residual.js';
export type { InvertedResidualV3Config, MBConvConfig } from './layers/blocks/residual.js';
export { SqueezeExcitation } from './layers/blocks/squeeze-excitation.js';
export type { SqueezeExcitationOptions } from './layers/blocks/squeeze-excitation.js';
export { ShuffleInvertedResidual, channelShuffle } from './layers/blocks/shuffle.js';
export { Conv2dNormActivation } from './layers/blocks/conv-norm-activation.js';
export type { ConvNormActivationOptions } from './layers/blocks/conv-norm-activation.js';
export { StochasticDepth } from './layers/blocks/stochastic-depth.js';
export { LayerShapeError } from './layers/trace.js';
export type { TracedModule, ChildCall } from './layers/trace.js';
export { foldBatchNorm } from './layers/fold.js';
export { loadSafetensors, saveSafetensors, parseSafetensors, SafetensorsError } from './io/safetensors.js';
export type { LoadSafetensorsOptions, SafetensorsContents } from './io/safetensors.js';
export {
  conv2dFilterFromTfjs, conv2dFilterToTfjs, depthwiseFilterFromTfjs, depthwiseFilterToTfjs, nhwcToNchw, nchwToNhwc,
} from './io/tfjs-layouts.js';
// Cost analysis (MACs = multiply-accumulates, FLOPs = 2·MACs, bias adds apart), summaries, profiles.
export {
  conv2dCost, linearCost, batchNorm2dCost, activationCost, pool2dCost, adaptiveAvgPool2dCost, reshapeCost, addCosts,
} from './analysis/cost.js';
export type { CostCounts, LayerCost, Conv2dSpec, Conv2dCost, LinearSpec, BatchNorm2dSpec, Pool2dSpec } from './analysis/cost.js';
export { compareSeparable, timeSeparable } from './analysis/compare.js';
export type { SeparableSpec, SeparableComparison, SeparableTimings, VariantCost, VariantTiming, VariantName } from './analysis/compare.js';
export { summary, traceLeaves, leafCost } from './analysis/summary.js';
export type { ModelSummary, SummaryRow, SummaryTotals, LayerKind, KindTotal, LeafCall } from './analysis/summary.js';
export { profile } from './analysis/profile.js';
export type { ModelProfile, ProfileRow, ProfileOptions } from './analysis/profile.js';
export { measure } from './analysis/timing.js';
export type { Timing, TimingOptions } from './analysis/timing.js';
export { formatSummary, formatProfile, formatComparison } from './analysis/format.js';
export { htmlReport } from './analysis/html.js';
export type { ReportInput } from './analysis/html.js';
export { tinyFaceDetector } from './layers/models/tinyface.js';
export type { TinyFaceDetectorOptions } from './layers/models/tinyface.js';
// Training: losses, optimizers (torch.optim's rules) and learning-rate schedules.
export { crossEntropy, mseLoss } from './train/loss.js';
export type { CrossEntropyOptions, MseLossOptions, LossOptions, LossResult, LossResultNone, Reduction } from './train/loss.js';
export { Optimizer } from './train/optim/optimizer.js';
export type { OptimizerStateDict, ParameterState } from './train/optim/optimizer.js';
export { SGD } from './train/optim/sgd.js';
export type { SGDOptions } from './train/optim/sgd.js';
export { Adam, AdamW } from './train/optim/adam.js';
export type { AdamOptions } from './train/optim/adam.js';
export { StepLR, CosineAnnealingLR } from './train/schedule.js';
export type { StepLROptions, CosineAnnealingLROptions } from './train/schedule.js';
// Images: PNG and JPEG decoding (pure TypeScript, with its own inflate), torchvision's preprocessing, from logits to labelled classes.
export { inflate, inflateRaw, inflateZlib, inflateWithInfo, adler32, InflateError } from './inflate.js';
export type { InflateOptions, InflateResult } from './inflate.js';
export { decodeImage, decodeImageSync, ImageDecodeError } from './image/decode.js';
export type { DecodedImage, DecodeImageOptions, ImageSource, BlobLike } from './image/decode.js';
export { imageToTensor, IMAGENET_MEAN, IMAGENET_STD } from './image/preprocess.js';
export type { ImageToTensorOptions } from './image/preprocess.js';
export type { ResizeFilter } from './image/resize.js';
export { softmax, topk, topkPerRow, topClasses } from './image/classify.js';
export type { TopK, TopClass, TopClassesOptions } from './image/classify.js';
export { imagenetClasses } from './image/imagenet-classes.js';
// PyTorch checkpoints: torch.save files (zip and legacy formats) read with a restricted unpickler, and written back.
export {
  loadTorchCheckpoint, readTorchCheckpoint, torchStateDict, saveTorchCheckpoint, TorchTensor, TorchCheckpointError,
} from './io/torch-checkpoint.js';
export type {
  TorchDtype, TorchTensorData, TorchStateTensor, TorchValue, TorchSaveValue, ReadTorchCheckpointOptions, LoadTorchCheckpointOptions, TorchStateDictOptions,
} from './io/torch-checkpoint.js';
// Pretrained weights: torchvision's published weight sets, downloaded, SHA-256-checked, cached and loaded.
export {
  PRETRAINED_ARCHS, WEIGHT_SET_NAMES, PRETRAINED_WEIGHTS, DEFAULT_WEIGHT_SETS, pretrainedWeights, weightSetsOf, isPretrainedArch, sha256PrefixOfFileName,
} from './hub/weights.js';
export type { PretrainedArch, WeightSetName, PretrainedWeights, Preprocessing } from './hub/weights.js';
export { archOf, buildArch } from './hub/architectures.js';
export type { PretrainedModel } from './hub/architectures.js';
export { loadPretrained, pretrainedModel, fetchPretrainedFile } from './hub/pretrained.js';
export type { LoadPretrainedOptions, FetchedWeights, WeightsSource } from './hub/pretrained.js';
export { PretrainedError } from './hub/download.js';
export type { DownloadProgress, FetchFunction } from './hub/download.js';
// ONNX import (an exported .onnx file as a sepconv Module) and export (src/onnx/).
export { loadOnnx, OnnxModel, CompiledOnnxModel, OnnxNode } from './onnx/model.js';
export type { LoadOnnxOptions, OnnxTensorInfo } from './onnx/model.js';
export { supportedOps as onnxSupportedOps } from './onnx/ops/index.js';
export { exportOnnx } from './onnx/export.js';
export type { ExportOnnxOptions } from './onnx/export.js';
