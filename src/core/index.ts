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
export { keyRefusal, type SignatureRuleRefusal, signatureRefusal } from "./signature-rule.js";
export type * from "./types.js";
