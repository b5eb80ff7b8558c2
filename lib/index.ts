export { siglipLoss } from './op';
export {
  backendInfo,
  siglipLossAndGrads,
  siglipLossAndGradsAsync,
  siglipLossValue,
  SIGLIP_DEFAULT_BIAS,
  SIGLIP_DEFAULT_T_PRIME,
  type BackendInfo,
  type CpuInfo,
  type CudaInfo,
  type Device,
  type PositivesKind,
  type Precision,
  type SiglipLossAndGrads,
  type SiglipOptions,
} from './raw';
