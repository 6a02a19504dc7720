/** Thrown by `decodeMessage` for any input that is not a valid message. `field` names what was wrong. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
