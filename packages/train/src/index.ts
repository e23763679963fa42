export { AdamW, adamUpdate } from './optim/adamw.js';
export { AdamW8bit, type AdamW8bitOptions } from './optim/adamw8bit.js';
export { Optimizer, readParameter, writeParameter, type AdamHyper, type NamedParameters, type OptimizerStateDict } from './optim/optimizer.js';
export { dynamicMap, linearMap, quantMap, quantize, dequantize, type QuantMapKind, type QuantizedState } from './optim/quantize.js';
export { LrSchedule, type LrScheduleConfig } from './schedule.js';
export { clipGlobalNorm, globalNorm } from './clip.js';
export { Ema } from './ema.js';
export { sampleSigma, shiftSigma, type TimestepSampling } from './timesteps.js';
