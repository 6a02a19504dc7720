import {
  decodeReport,
  encodeOwnerNews,
  type OwnerNews,
  ownerSignedPortion,
  ownerVerifierInput,
  REPORT_DOMAIN,
  VERIFIER_TRAILER_BYTES,
} from "../../wire/owner-codec.js";
import type { SignatureVerifier } from "../identity.js";
import type { SenderId } from "../ids.js";
import { ReceiptLedger } from "./ledger.js";
import type { RosterIndex } from "./roster.js";

/** Receipts per news at most: a sender that was away gets the rest in its next exchange. */
const MAX_RECEIPTS_PER_NEWS = 1_024;
/** A report's verifier input is its signed bytes with the domain before and the signature trailer after. */
const VERIFIER_INPUT_EXTRA = REPORT_DOMAIN.length + VERIFIER_TRAILER_BYTES;
/** Reports up to this size are checked in the service's reused buffer; a larger one gets its own. */
const MAX_SCRATCH_BYTES = 64 * 1024;

export class OwnerServiceError extends Error {
  override readonly name = "OwnerServiceError";
}

export interface OwnerServiceConfig {
  readonly channelId: string;
  readonly roster: RosterIndex;
  readonly verify: SignatureVerifier;
  /** Messages per sender whose holders are kept (older ones keep totals only). */
  readonly window: number;
}

/**
 * The owner's side of the owner path for one channel, sans-IO: it checks members' signed receipt reports
 * against the roster, keeps the receipt ledger, and writes each member's news (receipts of its own messages
 * and every sender's head since the member's cursor). The node serves it over a direct stream; the simulator
 * calls it with modelled latency. Both run this same code.
 */
export class OwnerService {
  readonly channelId: string;
  private roster: RosterIndex;
  private ledger: ReceiptLedger;
  private readonly verify: SignatureVerifier;
  private readonly window: number;
  /**
   * Where a report's verifier input is written: one is built for every report, and a fresh buffer for each was a
   * tenth of the owner's own work in the simulator. The verifier reads it during the call only (a SignatureVerifier
   * keeps no input: each checks or copies the bytes it is given).
   */
  private scratch = new Uint8Array(512);
  /** Reports accepted and refused, and (message, holder) pairs learnt, for metrics. */
  readonly counters = { reports: 0, refused: 0, pairs: 0 };

  constructor(config: OwnerServiceConfig) {
    this.channelId = config.channelId;
    this.roster = config.roster;
    this.verify = config.verify;
    this.window = config.window;
    this.ledger = new ReceiptLedger(config.roster.size, config.window);
  }

  get rosterIndex(): RosterIndex {
    return this.roster;
  }

  /** The owner holds `sender`'s message `seq` (it delivered or stored it). */
  noteMessage(sender: string, seq: number): void {
    const i = this.roster.indexOf(sender);
    if (i !== undefined) this.ledger.noteMessage(i, seq);
  }

  /** The highest sequence number of `sender` the owner holds (0: none, or not on the roster). */
  head(sender: string): number {
    const i = this.roster.indexOf(sender);
    return i === undefined ? 0 : this.ledger.headOf(i);
  }

  /**
   * A member's signed report. Applies it and returns the reporter, or throws OwnerServiceError naming why it was
   * refused (nothing is applied then).
   */
  acceptReport(bytes: Uint8Array): SenderId {
    let report: ReturnType<typeof decodeReport>;
    try {
      report = decodeReport(bytes);
    } catch (err) {
      this.counters.refused++;
      throw new OwnerServiceError(`undecodable report: ${(err as Error).message}`);
    }
    const holder = this.roster.indexOf(report.reporter);
    const refusal = this.refusal(report, bytes, holder);
    if (refusal !== undefined || holder === undefined) {
      this.counters.refused++;
      throw new OwnerServiceError(refusal ?? `reporter ${report.reporter} is not on the roster`);
    }
    for (const range of report.held) {
      const sender = this.roster.indexOfPrefix(range.senderPrefix);
      if (sender !== undefined) this.counters.pairs += this.ledger.noteHeld(holder, sender, range.first, range.last);
    }
    this.counters.reports++;
    return report.reporter as SenderId;
  }

  /** Why a report is refused (`holder`: the reporter's roster position), or undefined when it is accepted. */
  private refusal(
    report: ReturnType<typeof decodeReport>,
    bytes: Uint8Array,
    holder: number | undefined,
  ): string | undefined {
    if (report.channelId !== this.channelId) return `report is for channel "${report.channelId}"`;
    if (holder === undefined) return `reporter ${report.reporter} is not on the roster`;
    const signed = ownerSignedPortion(bytes);
    if (report.signature === undefined || signed === undefined) return "report is not signed";
    if (signed.length + VERIFIER_INPUT_EXTRA > this.scratch.length && signed.length <= MAX_SCRATCH_BYTES) {
      this.scratch = new Uint8Array(Math.max(2 * this.scratch.length, signed.length + VERIFIER_INPUT_EXTRA));
    }
    const input = ownerVerifierInput(REPORT_DOMAIN, signed, report.signature, this.scratch);
    if (!this.verify(input, report.signature, report.reporter as SenderId)) return "report signature does not verify";
    return undefined;
  }

  /** What `member` learns since `cursor`: receipts of its own messages, heads, the roster size. */
  news(member: string, cursor: number): OwnerNews {
    const i = this.roster.indexOf(member);
    if (i === undefined) throw new OwnerServiceError(`${member} is not on the roster`);
    const heads = cursor === 0 ? this.ledger.heads() : this.ledger.headsSince(cursor);
    return {
      channelId: this.channelId,
      cursor: this.ledger.cursor,
      rosterSize: this.roster.size,
      rosterVersion: this.roster.version,
      receipts: this.ledger.receiptsSince(i, cursor, MAX_RECEIPTS_PER_NEWS),
      heads: heads.map((h) => ({ senderPrefix: this.roster.prefixAt(h.sender)!, sequence: h.sequence })),
    };
  }

  /** `news` encoded. */
  newsBytes(member: string, cursor: number): Uint8Array {
    return encodeOwnerNews(this.news(member, cursor));
  }

  /** Whether anything in `member`'s news changed after `cursor` (a waiting watch can answer). */
  hasNews(member: string, cursor: number): boolean {
    const i = this.roster.indexOf(member);
    if (i === undefined) return false;
    return this.ledger.receiptsSince(i, cursor, 1).length > 0 || this.ledger.headsSince(cursor).length > 0;
  }

  /** Holders of one message, for the owner's own API. */
  receipt(sender: string, seq: number): { count: number; ackedBy: SenderId[]; members: number } | undefined {
    const i = this.roster.indexOf(sender);
    const r = i === undefined ? undefined : this.ledger.receipt(i, seq);
    if (r === undefined) return undefined;
    return { count: r.count, ackedBy: this.roster.holders(r.holders), members: this.roster.size - 1 };
  }

  /** A new roster: the ledger starts over for it (receipts are re-reported by members as they learn of it). */
  replaceRoster(roster: RosterIndex): void {
    this.roster = roster;
    this.ledger = new ReceiptLedger(roster.size, this.window);
  }

  sizes(): ReturnType<ReceiptLedger["sizes"]> {
    return this.ledger.sizes();
  }
}
