// How the API shows content: UTF-8 text, with base64 beside it when the bytes are not UTF-8.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { textOf } from "../../src/api/messages.js";

describe("textOf", () => {
  it("gives UTF-8 text, and base64 beside it when the bytes are not UTF-8", () => {
    assert.deepEqual(textOf(new TextEncoder().encode("grüß")), { content: "grüß" });
    assert.deepEqual(textOf(new Uint8Array([0x61, 0xc3])), { content: "a\uFFFD", contentBase64: "YcM=" });
  });
});
