// What the owner node pays per message for the owner path (spec 14.3): checking every member's signed receipt
// report (native ed25519, as `chorus node` runs), keeping the ledger, and writing the sender's news.

import { senderPrefixBytes } from "../src/core/ids.js";
import { identityFromSecretKey } from "../src/core/index.js";
import { signReport } from "../src/core/owner/link.js";
import { RosterIndex } from "../src/core/owner/roster.js";
import { OwnerService } from "../src/core/owner/service.js";
import { nativeSigner, nativeVerifier } from "../src/platform/native-crypto.js";
import { encodeOwnerNews } from "../src/wire/owner-codec.js";
import { cpuClockMs } from "./lib/measure.js";

export interface OwnerResult {
  readonly members: number;
  readonly messages: number;
  /** Reports checked and applied: one per (message, member other than its sender), the worst case (no batching). */
  readonly reports: number;
  readonly cpuUsPerMessage: number;
  /** CPU per message divided by the roster size: flat when the cost is O(N). */
  readonly cpuUsPerMessageAndMember: number;
  /** Report bytes in plus news bytes out, per message. */
  readonly bytesPerMessage: number;
  readonly bytesPerMessageAndMember: number;
}

const CHANNEL = "community/general";
const secret = (i: number) => {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, i + 1);
  key.fill(0x6b, 4);
  return key;
};

/** `messages` messages from rotating senders in a roster of `members`; every member reports each one. */
export function ownerCost(members: number, messages: number): OwnerResult {
  const ids = Array.from({ length: members }, (_, i) => identityFromSecretKey(secret(i)));
  const roster = new RosterIndex({
    channelId: CHANNEL,
    version: 1,
    members: ids.map((m) => m.senderId),
    owner: ids[0]!.senderId,
  });
  const service = new OwnerService({ channelId: CHANNEL, roster, verify: nativeVerifier(), window: 2_000 });
  const signers = ids.map((m) => nativeSigner(m.secretKey));
  // Members sign their reports before the clock starts: that is their cost, not the owner's.
  const plan: { sender: number; seq: number; reports: Uint8Array[] }[] = [];
  const seqs = new Array<number>(members).fill(0);
  for (let m = 0; m < messages; m++) {
    const sender = 1 + (m % (members - 1));
    const seq = ++seqs[sender]!;
    const reports: Uint8Array[] = [];
    for (let r = 1; r < members; r++) {
      if (r === sender) continue;
      const held = [{ senderPrefix: senderPrefixBytes(ids[sender]!.senderId), first: seq, last: seq }];
      const report = { channelId: CHANNEL, reporter: ids[r]!.senderId, writtenAt: 1_700_000_000_000 + m, held };
      reports.push(signReport(report, signers[r]!));
    }
    plan.push({ sender, seq, reports });
  }
  let bytes = 0;
  let reports = 0;
  const cursors = new Array<number>(members).fill(0);
  const started = cpuClockMs();
  for (const { sender, seq, reports: batch } of plan) {
    service.noteMessage(ids[sender]!.senderId, seq);
    for (const report of batch) {
      service.acceptReport(report);
      bytes += report.length;
      reports++;
    }
    const news = service.news(ids[sender]!.senderId, cursors[sender]!);
    cursors[sender] = news.cursor;
    bytes += encodeOwnerNews(news).length;
  }
  const cpuUs = (cpuClockMs() - started) * 1000;
  return {
    members,
    messages,
    reports,
    cpuUsPerMessage: cpuUs / messages,
    cpuUsPerMessageAndMember: cpuUs / messages / members,
    bytesPerMessage: bytes / messages,
    bytesPerMessageAndMember: bytes / messages / members,
  };
}
