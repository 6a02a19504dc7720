export { buildFilter, channelSalt, falsePositiveRate, fillRatio, filterHas, optimalHashCount } from "./ack-filter.js";
export { ChannelEngine, type EngineConfig, type EngineSnapshot, type ReceiveOptions } from "./engine.js";
export {
  createSigner,
  createVerifier,
  type Identity,
  identityFromSecretKey,
  type SignatureVerifier,
  signEncoding,
  type VerifierOptions,
  verifyEncoding,
} from "./identity.js";
export {
  type ChannelId,
  computeMessageId,
  type IdFields,
  isChorusSenderId,
  MESSAGE_ID_BYTES,
  type MessageId,
  type SenderId,
  senderPrefixHex,
} from "./ids.js";
export { DEFAULT_PARAMS, OWNER_PARAMS, type Params, resolveParams } from "./params.js";
export {
  DEFAULT_RLN_PACER,
  type PacedClass,
  type PacerState,
  type Released,
  RlnPacer,
  type RlnPacerOptions,
  type Submission,
} from "./rln-pacer.js";
export { fitsLeopard8, leopard8Decode, leopard8Encode } from "./segments/leopard8.js";
export {
  type AcceptedContent,
  ContentPipeline,
  type Forgo,
  type Inbound,
  type PayloadCipher,
  type PipelineOptions,
} from "./segments/pipeline.js";
export {
  DEFAULT_REASSEMBLER_LIMITS,
  type DroppedSet,
  Reassembler,
  type ReassemblerLimits,
  type RefusalCode,
  type SegmentOutcome,
} from "./segments/reassembler.js";
export {
  DEFAULT_PARITY_RATE,
  maxSegmentedBytes,
  parityCountFor,
  type SegmentationOptions,
  type SegmentedPayload,
  segmentPayload,
} from "./segments/segmenter.js";
export { type SetProgress, SetReceipts } from "./segments/set-receipts.js";
export { keyRefusal, type SignatureRuleRefusal, signatureRefusal } from "./signature-rule.js";
export type * from "./types.js";
