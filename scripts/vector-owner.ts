// Known-answer vectors of the owner path (spec section 14.3): a signed roster, a signed receipt report, and the
// owner's news after two reports. Fixed keys and inputs; used by scripts/make-vectors.ts and test/core/owner-vectors.test.ts.
import { bytesToHex } from "@noble/hashes/utils.js";
import { senderPrefixBytes } from "../src/core/ids.js";
import { createSigner, createVerifier, identityFromSecretKey } from "../src/core/index.js";
import { reportIntervalMs } from "../src/core/owner/cadence.js";
import { openRoster, signRoster } from "../src/core/owner/roster.js";
import { OwnerService } from "../src/core/owner/service.js";
import {
  appendOwnerSignature,
  decodeOwnerNews,
  encodeReportUnsigned,
  type HeldRange,
  ownerSigningInput,
  REPORT_DOMAIN,
} from "../src/wire/owner-codec.js";

const CHANNEL = "community/general";
const key = (byte: number) => new Uint8Array(32).fill(byte);
const [owner, alice, bob, carol] = [0x0a, 0x01, 0x02, 0x03].map((b) => identityFromSecretKey(key(b)));
const WRITTEN_AT = 1_700_000_000_000;

function report(secret: Uint8Array, reporter: string, held: HeldRange[]) {
  const unsigned = encodeReportUnsigned({ channelId: CHANNEL, reporter, writtenAt: WRITTEN_AT, held });
  const signature = createSigner(secret)(ownerSigningInput(REPORT_DOMAIN, unsigned));
  return { unsigned, signature, wire: appendOwnerSignature(unsigned, signature) };
}

const range = (id: string, first: number, last: number): HeldRange => ({
  senderPrefix: senderPrefixBytes(id),
  first,
  last,
});

/** Roster sizes around the floor's end (500) and beyond it, with one that does not divide evenly. */
const REPORT_INTERVAL_SIZES = [0, 1, 100, 499, 500, 501, 1_000, 1_001, 4_000, 10_000, 100_000];

export function buildOwnerVectors() {
  const members = [owner!, alice!, bob!, carol!].map((m) => m.senderId);
  const rosterWire = signRoster(
    { channelId: CHANNEL, version: 1, members, owner: owner!.senderId },
    createSigner(owner!.secretKey),
  );
  const roster = openRoster(rosterWire, CHANNEL, owner!.senderId, createVerifier());
  const service = new OwnerService({ channelId: CHANNEL, roster, verify: createVerifier(), window: 64 });
  for (let seq = 1; seq <= 3; seq++) service.noteMessage(alice!.senderId, seq);
  for (let seq = 1; seq <= 2; seq++) service.noteMessage(carol!.senderId, seq);
  const fromBob = report(bob!.secretKey, bob!.senderId, [range(alice!.senderId, 1, 3), range(carol!.senderId, 2, 2)]);
  const fromCarol = report(carol!.secretKey, carol!.senderId, [range(alice!.senderId, 1, 2)]);
  service.acceptReport(fromBob.wire);
  service.acceptReport(fromCarol.wire);
  const news = service.newsBytes(alice!.senderId, 0);
  const decoded = decodeOwnerNews(news);
  return {
    description:
      "Owner path (spec 14.3). Roster and reports end with field 15 (7a 40) and a 64-byte Ed25519 signature over " +
      "utf8('chorus/sig/v1') || utf8(domain) || unsigned, domain 'chorus/roster/v1' or 'chorus/report/v1'. " +
      "Receipt holders are a bitmap over roster positions, least significant bit first. The owner holds alice 1..3 " +
      "and carol 1..2, accepts both reports in order, and writes alice's news from cursor 0. Report intervals: a " +
      "member's least time between reports, in ms, for roster sizes (spec 14.3.2).",
    vectors: [
      { name: "roster", channelId: CHANNEL, version: 1, members, owner: owner!.senderId, wire: bytesToHex(rosterWire) },
      ...[
        { from: bob!, held: "alice 1..3, carol 2..2", r: fromBob },
        { from: carol!, held: "alice 1..2", r: fromCarol },
      ].map(({ from, held, r }) => ({
        name: `report from ${from === bob ? "bob" : "carol"}`,
        reporter: from.senderId,
        held,
        unsigned: bytesToHex(r.unsigned),
        signature: bytesToHex(r.signature),
        wire: bytesToHex(r.wire),
      })),
      {
        name: "news for alice",
        member: alice!.senderId,
        cursor: 0,
        wire: bytesToHex(news),
        decoded: {
          cursor: decoded.cursor,
          rosterSize: decoded.rosterSize,
          rosterVersion: decoded.rosterVersion,
          receipts: decoded.receipts.map((r) => ({
            sequence: r.sequence,
            count: r.count,
            holders: bytesToHex(r.holders),
          })),
          heads: decoded.heads.map((h) => ({ senderPrefix: bytesToHex(h.senderPrefix), sequence: h.sequence })),
        },
      },
      {
        name: "cadence of reports",
        rule: "max(250, ceil(N * 1000 / 2000)) ms, N the roster size",
        intervals: REPORT_INTERVAL_SIZES.map((n) => ({ rosterSize: n, intervalMs: reportIntervalMs(n) })),
      },
    ],
  };
}
