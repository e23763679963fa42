export {
  FlowMatchEulerDiscreteScheduler,
  type FlowScheduler,
  type SetTimestepsOptions,
  type StepOptions,
  type FromPretrainedSchedulerOptions,
} from './flow-match-euler.js';
export { FlowMatchHeunDiscreteScheduler } from './flow-match-heun.js';
export { parseFlowMatchConfig, calculateShift, DEFAULT_FLOW_MATCH_CONFIG, type FlowMatchConfig } from './config.js';
export { sampleFlowMatch, initNoise, img2imgStart, type Denoiser, type SampleFlowMatchOptions, type StepInfo } from './loop.js';
export { linspace, karrasSigmas, exponentialSigmas, betaSigmas, shiftSigma, timeShift, stretchToTerminal } from './sigmas.js';
export { betaPpf, betaCdf } from './beta-ppf.js';
