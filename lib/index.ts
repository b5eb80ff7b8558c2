export { siglipLoss } from './op';
export {
  backendInfo,
  siglipLossAndGrads,
  siglipLossAndGradsAsync,
  siglipLossValue,
  SIGLIP_DEFAULT_BIAS,
  SIGLIP_DEFAULT_T_PRIME,
  type BackendInfo,
  type PositivesKind,
  type SiglipLossAndGrads,
  type SiglipOptions,
} from './raw';
