export * from './errors.js';
export * from './dtype.js';
export * from './shape.js';
export type { Backend, BackendOptions, ComputePrecision, WeightKind, BinaryFn, Kernel, KernelInput, KernelOutput, KernelTable, OpAttrs, OpName, PadMode, ReduceFn, UnaryFn } from './backend.js';
export { OP_NAMES } from './backend.js';
export { Tensor } from './tensor.js';
export {
  registerBackend,
  setBackend,
  getBackend,
  listBackends,
  autoBackendOrder,
  isBackendAvailable,
  backendFailure,
  backendInstance,
  computeOf,
  probeReport,
  type BackendProbe,
  currentBackend,
  tidy,
  tidyAsync,
  keep,
  dispose,
  memory,
  fromData,
  storageBits,
  storageRows,
  type MemoryInfo,
  type BackendFactory,
} from './engine.js';
export { RandomGenerator, fnv1a } from './random.js';
export { RateClock, type RateEstimate } from './eta.js';
export * from './ops/index.js';
export { valueAndGrad, grad, vjp, noGrad, checkpoint, type ValueAndGrad } from './autograd/grad.js';
export { flattenTensors, rebuildTensors, type TensorTree, type TensorTreeLeaf } from './autograd/tensor-tree.js';
export { unbroadcast } from './autograd/vjp.js';
export * from './backends/register.js';
export * as nn from './nn/index.js';
export { Module, ModuleList, Parameter, loadWeights, readTensor, storageFor, type LoadWeightsOptions, type WeightDType } from './nn/index.js';
export * from './io/safetensors.js';
export * from './io/half.js';
export * from './io/float8.js';
export * from './io/config.js';
export { joinLocation, readTextLocation, type Location, type ReadTextOptions } from './io/location.js';
export { openCheckpoint, loadSafetensorsIndex } from './io/safetensors-index.js';
export * as blocks from './nn/blocks/index.js';
export { saveSafetensors, serializeSafetensors, type SafetensorsTensorInput, type SafetensorsTensorMap } from './io/safetensors-write.js';
export { SAFETENSORS_DTYPES, isSafetensorsDType, safetensorsItemSize, safetensorsArrayType } from './io/safetensors-dtype.js';
export { MAX_SAFETENSORS_HEADER } from './io/safetensors-header.js';
export { hubDownload, checkRevision, DEFAULT_HUB_IDLE_TIMEOUT_MS, DEFAULT_HUB_TOTAL_TIMEOUT_MS, type HubDownloadOptions, type HubProgress } from './hub/download.js';
export { hubSnapshot, resolveModelSource, type ResolveModelSourceOptions } from './hub/snapshot.js';
export {
  defaultHubCacheDir,
  hubEndpoint,
  hubToken,
  hubOffline,
  envBackend,
  envCompute,
  computeNamed,
  envOrtThreads,
  envOrtCacheBytes,
  envHubIdleTimeoutMs,
  envHubTotalTimeoutMs,
  envHubMaxBytes,
  envMaxImagePixels,
  envMaxImageBytes,
  processEnv,
  ENV_VARIABLES,
  type EnvSource,
  type EnvVariable,
} from './env.js';
export { tfjsLimits } from './backends/tfjs/nn.js';
// openLocalFile (its type is Node's FileHandle) is exported from '@sdxs/core/node'
export { LocalFileError } from './io/local-file-error.js';
export { removeStaleTempFiles, isProcessAlive } from './io/stale-temp.js';
export { compile, realize, isGraphBackend } from './graph/boundary.js';
export { fullPrecision } from './graph/full-precision.js';
export type { LazyBackend, SegmentRunner } from './graph/lazy-backend.js';
export { exportOnnx, type ExportOnnxSpec, type OnnxExport, type OnnxTensorInfo } from './export/export-onnx.js';
export { onCompile, useOnnxRuntimeWeb, type CompileEvent, type CompileListener } from './backends/ort/index.js';
