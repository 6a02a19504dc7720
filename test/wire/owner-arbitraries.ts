// Random owner-path messages for the codec tests (owner-encode, owner-decode): the same shapes, with the
// ranges each test needs.
import fc from "fast-check";
import type { OwnerNews, ReceiptReport } from "../../src/wire/owner-codec.js";

export const uint = fc.oneof(fc.constant(0), fc.nat(300), fc.nat(), fc.maxSafeNat());
export const id = fc.oneof(
  fc.constant(""),
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 1, maxLength: 64 }),
  fc.string({ unit: "grapheme" }),
);
const count = fc.oneof(fc.constant(0), fc.nat(5_000), fc.constant(0xffff_ffff));

/** Reports and news whose sender prefixes run up to `prefixMaxLength` bytes and whose `writtenAt` is drawn from `writtenAt`. */
export function ownerMessages(
  prefixMaxLength: number,
  writtenAt: fc.Arbitrary<number> = uint,
): { report: fc.Arbitrary<ReceiptReport>; news: fc.Arbitrary<OwnerNews> } {
  const prefix = fc.uint8Array({ minLength: 0, maxLength: prefixMaxLength });
  return {
    report: fc.record({
      channelId: id,
      reporter: id,
      writtenAt,
      held: fc.array(fc.record({ senderPrefix: prefix, first: uint, last: uint }), { maxLength: 6 }),
    }),
    news: fc.record({
      channelId: id,
      cursor: uint,
      rosterSize: count,
      rosterVersion: uint,
      receipts: fc.array(fc.record({ sequence: uint, count, holders: fc.uint8Array({ maxLength: 40 }) }), {
        maxLength: 6,
      }),
      heads: fc.array(fc.record({ senderPrefix: prefix, sequence: uint }), { maxLength: 6 }),
    }),
  };
}
