// What an app channel does to a payload around the engine (spec/chorus.md, "Segmentation"), as one pure
// part that `openChannel` composes with an engine, a pacer and a transport:
//
//   send:    payload ─ split() ─► contents ─ engine.send() each ─► bytes ─ seal() ─► pacer ─► transport
//   receive: transport ─► open() ─► bytes ─ engine.receive() ─► "accepted" ─ accepted() ─► payload
//                                                         └─► "missing"  ─ missing()  ─► engine.forgo()
//
// Segments are taken when the engine accepts them (not when it delivers them: a segment after a gap waits
// in the causal buffer, and the set may be complete without the gap). A set's segments go out at
// consecutive sequence numbers, data first, so any segment tells which sequences the set spans. Of the
// sequences a member misses in a set it repairs only as many as it needs (the lowest), and forgoes the
// rest; once the set is reassembled it forgoes everything it still misses of it. So a member that holds
// enough data and parity never asks for more, and its acknowledgements show it holds the message.
//
// Encryption is the app's (`PayloadCipher`): each published message is sealed after segmentation and the
// engine (so ids, signatures and repair work on what the app sent), and opened before them on receive.
import { type Segment, tryDecodeSegment } from "../../wire/index.js";
import type { MessageRef } from "../types.js";
import { forgoneSegmentIds } from "./forgone-ids.js";
import { type DroppedSet, Reassembler, type ReassemblerLimits, type RefusalCode } from "./reassembler.js";
import { type SegmentationOptions, segmentPayload } from "./segmenter.js";

/** An authenticated cipher the app brings; the channel never picks one. */
export interface PayloadCipher {
  encrypt(plain: Uint8Array): Uint8Array;
  /** The plain bytes, or undefined (or a throw) when `sealed` was not sealed under this key. */
  decrypt(sealed: Uint8Array): Uint8Array | undefined;
}

export interface PipelineOptions {
  /** Segment payloads above `segmentSize`; without it a payload must fit one message. */
  readonly segmentation?: SegmentationOptions;
  readonly reassembly?: Partial<ReassemblerLimits>;
  readonly cipher?: PayloadCipher;
  /** Sets per sender whose sequences are remembered after they finish, to forgo late gaps in them. */
  readonly finishedSetsPerSender?: number;
  /**
   * How long after a set's latest segment its gaps wait before they are asked for: long enough for the
   * rest of the set (its parity last) to arrive. Default 2 s.
   */
  readonly holdMs?: number;
  /**
   * The channel's id: with it, the ids of the segments a reassembled set did without are worked out
   * (forgone-ids.ts), so that a later history naming one opens no fetch of it.
   */
  readonly channelId?: string;
}

/**
 * What the engine should do with gaps in a segment set: close `sequences` and `ids` for good
 * (`engine.forgo(sender, sequences, now, ids)`), and ask for `hold` and `holdIds` no earlier than `until`
 * (`engine.holdRepair(sender, hold, until, holdIds)`), since the rest of the set may make them unneeded.
 */
export interface Forgo {
  readonly sender: string;
  readonly sequences: readonly number[];
  readonly ids: readonly string[];
  readonly hold: readonly number[];
  readonly holdIds: readonly string[];
  readonly until: number;
}

export type Inbound =
  | {
      readonly kind: "payload";
      readonly sender: string;
      readonly payload: Uint8Array;
      /** Keccak-256 of a segmented payload; undefined for one that came whole. */
      readonly hash: Uint8Array | undefined;
      readonly parityUsed: number;
      readonly forgo: Forgo | undefined;
    }
  | { readonly kind: "pending"; readonly forgo: Forgo | undefined }
  | { readonly kind: "ignored" }
  | { readonly kind: "refused"; readonly code: RefusalCode; readonly reason: string };

interface SetSpan {
  readonly key: string;
  readonly sender: string;
  /** Sequence of data segment 0. */
  readonly start: number;
  readonly dataCount: number;
  parityCount: number;
  readonly held: Set<number>;
  /** Ids named by the histories of the set's segments: the candidates for id-only gaps of the set. */
  readonly named: Set<string>;
  finished: boolean;
  /** When the set's latest segment was accepted. */
  lastAt: number;
  /** Lamport timestamps of segments held, by sequence (to work out the ids of those not held). */
  readonly lamports: Map<number, bigint>;
  /** A full chunk's length, from a parity segment or a data segment other than the last. */
  chunk: number | undefined;
  parityOnData: boolean;
}

/** A content message of another member that the engine accepted before a restart, read back from the store. */
export interface AcceptedContent {
  readonly sender: string;
  readonly sequence: number | undefined;
  readonly content: Uint8Array;
  /** Ids in its causal history. */
  readonly history: readonly string[];
  /** When it was accepted (its stored receive time): the set's timeout runs from its latest segment. */
  readonly at: number;
  readonly lamport?: bigint;
}

/** Gaps remembered per sender, and parity-first sets awaiting their first data segment, at most. */
const MAX_GAPS = 4_096;

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export class ContentPipeline {
  private readonly reassembler: Reassembler;
  private readonly segmentation: SegmentationOptions | undefined;
  private readonly cipher: PayloadCipher | undefined;
  private readonly keep: number;
  private readonly holdMs: number;
  /** The set whose segments' histories named each id, for id-only gaps reported after the naming. */
  private readonly byNamed = new Map<string, SetSpan>();
  /** Id-only gaps the engine reported (and has not closed), newest last. */
  private readonly missingIds = new Set<string>();
  /** Sets by sender + hash, and per sender the sets by each sequence they span (oldest first). */
  private readonly sets = new Map<string, SetSpan>();
  private readonly bySequence = new Map<string, Map<number, SetSpan>>();
  private readonly setsOf = new Map<string, string[]>();
  /** Gaps the engine reported and has not closed: sequences per sender (the newest MAX_GAPS). */
  private readonly gaps = new Map<string, Set<number>>();
  /** Sequences of parity segments that came before any data segment of their set told its span. */
  private readonly early = new Map<string, number[]>();
  /** Ids of segments that reassembled sets did without, with their sender (the newest MAX_GAPS). */
  private readonly forgoneIds = new Map<string, string>();
  private readonly channelId: string | undefined;
  undecryptable = 0;

  constructor(options: PipelineOptions = {}) {
    this.reassembler = new Reassembler(options.reassembly);
    this.segmentation = options.segmentation;
    this.cipher = options.cipher;
    this.keep = options.finishedSetsPerSender ?? 64;
    this.holdMs = options.holdMs ?? 2_000;
    this.channelId = options.channelId;
    if (!Number.isFinite(this.holdMs) || this.holdMs < 0) {
      throw new RangeError(`holdMs must be a non-negative number of ms, got ${this.holdMs}`);
    }
    if (!Number.isSafeInteger(this.keep) || this.keep < 1) {
      throw new RangeError(`finishedSetsPerSender must be a positive integer, got ${this.keep}`);
    }
  }

  /** The contents to send, in order, one engine message each. */
  split(payload: Uint8Array): readonly Uint8Array[] {
    if (this.segmentation === undefined) return [payload];
    return segmentPayload(payload, this.segmentation).messages;
  }

  seal(bytes: Uint8Array): Uint8Array {
    return this.cipher === undefined ? bytes : this.cipher.encrypt(bytes);
  }

  /** The engine's bytes inside a received message, or undefined when they do not open with our key. */
  open(bytes: Uint8Array): Uint8Array | undefined {
    if (this.cipher === undefined) return bytes;
    let plain: Uint8Array | undefined;
    try {
      plain = this.cipher.decrypt(bytes);
    } catch {
      plain = undefined;
    }
    if (plain === undefined) this.undecryptable++;
    return plain;
  }

  /** The engine accepted a content message of `sender` (its sequence, content, history ids and lamport timestamp). */
  accepted(
    sender: string,
    sequence: number | undefined,
    content: Uint8Array,
    history: readonly string[],
    now: number,
    lamport?: bigint,
  ): Inbound {
    this.gaps.get(sender)?.delete(sequence ?? -1);
    const out = this.reassembler.accept(sender, content, now);
    switch (out.kind) {
      case "whole":
        return { kind: "payload", sender, payload: out.payload, hash: undefined, parityUsed: 0, forgo: undefined };
      case "ignored":
        return { kind: "ignored" };
      case "refused":
        return { kind: "refused", code: out.code, reason: out.reason };
      default:
        break;
    }
    const span = sequence === undefined ? undefined : this.track(sender, out.hash, out.segment, sequence);
    if (span !== undefined) {
      if (sequence !== undefined) span.held.add(sequence);
      if (sequence !== undefined && lamport !== undefined) span.lamports.set(sequence, lamport);
      noteShape(span, out.segment);
      for (const id of history) {
        span.named.add(id);
        this.byNamed.set(id, span);
        if (this.byNamed.size > MAX_GAPS) this.byNamed.delete(this.byNamed.keys().next().value as string);
      }
      span.lastAt = now;
    }
    if (out.kind === "stored") return { kind: "pending", forgo: span === undefined ? undefined : this.advise(span) };
    if (span !== undefined) {
      span.finished = true;
      this.rememberForgone(span, out.payload, out.hash);
    }
    const forgo = span === undefined ? undefined : this.advise(span);
    return { kind: "payload", sender, payload: out.payload, hash: out.hash, parityUsed: out.parityUsed, forgo };
  }

  /** The engine reported a gap: what of it to forgo now (a sequence a set does not need), if anything. */
  missing(ref: MessageRef, now: number): Forgo | undefined {
    const { senderId, sequence, messageId } = ref;
    if (messageId !== undefined && senderId === undefined) {
      const forgone = this.forgoneIds.get(messageId);
      if (forgone !== undefined) {
        return { sender: forgone, sequences: [], ids: [messageId], hold: [], holdIds: [], until: now };
      }
      // Named by a causal history: a set that named it closes it (its sequence gap stays, see advise()).
      this.missingIds.add(messageId);
      if (this.missingIds.size > MAX_GAPS) this.missingIds.delete(this.missingIds.values().next().value as string);
      const span = this.byNamed.get(messageId);
      return span === undefined ? undefined : this.advise(span, now);
    }
    if (senderId === undefined || sequence === undefined) return undefined;
    let open = this.gaps.get(senderId);
    if (open === undefined) {
      open = new Set();
      this.gaps.set(senderId, open);
    }
    open.add(sequence);
    if (open.size > MAX_GAPS) open.delete(open.values().next().value as number);
    const span = this.bySequence.get(senderId)?.get(sequence);
    return span === undefined ? undefined : this.advise(span, now);
  }

  /**
   * Rebuilds the incomplete segment sets after a restart from what the store holds (oldest first). A set with
   * as many distinct segments as data segments was reassembled before the restart: it is only remembered as
   * finished, never delivered again. The others are taken again through `accepted`, under the same limits per
   * sender and in all (what did not fit before does not fit now). Whole payloads are skipped. Returns what the
   * engine should forgo or hold, as `accepted` does.
   */
  restore(contents: readonly AcceptedContent[]): Forgo[] {
    const max = this.reassembler.limit.maxSegmentBytes;
    const shapes = new Map<string, { dataCount: number | undefined; held: Set<string> }>();
    const segments: { readonly c: AcceptedContent; readonly key: string; readonly hash: Uint8Array }[] = [];
    for (const c of contents) {
      const segment = tryDecodeSegment(c.content, max);
      if (segment === undefined) continue;
      const key = `${c.sender}/${hex(segment.hash)}`;
      let shape = shapes.get(key);
      if (shape === undefined) {
        shape = { dataCount: undefined, held: new Set() };
        shapes.set(key, shape);
      }
      if (segment.kind === "data") shape.dataCount = segment.count;
      shape.held.add(`${segment.kind}${segment.index}`);
      segments.push({ c, key, hash: segment.hash });
    }
    const forgos: Forgo[] = [];
    for (const { c, key, hash } of segments) {
      const shape = shapes.get(key)!;
      if (shape.dataCount !== undefined && shape.held.size >= shape.dataCount) {
        this.reassembler.markFinished(c.sender, hash);
        continue;
      }
      const inbound = this.accepted(c.sender, c.sequence, c.content, c.history, c.at, c.lamport);
      if (inbound.kind === "pending" && inbound.forgo !== undefined) forgos.push(inbound.forgo);
    }
    return forgos;
  }

  /** Incomplete sets held by the reassembler. */
  get openSets(): number {
    return this.reassembler.openSets;
  }

  /** Drops incomplete sets that timed out. */
  expire(now: number): DroppedSet[] {
    return this.reassembler.expire(now);
  }

  nextExpiry(): number | undefined {
    return this.reassembler.nextExpiry();
  }

  /** A set reassembled without some of its segments: their ids, so that a history naming one later asks for nothing. */
  private rememberForgone(span: SetSpan, payload: Uint8Array, hash: Uint8Array): void {
    const total = span.dataCount + span.parityCount;
    if (this.channelId === undefined || span.chunk === undefined || span.held.size >= total) return;
    const ids = forgoneSegmentIds({ ...span, channelId: this.channelId, payload, hash, chunk: span.chunk });
    for (const id of ids) {
      this.forgoneIds.set(id, span.sender);
      if (this.forgoneIds.size > MAX_GAPS) this.forgoneIds.delete(this.forgoneIds.keys().next().value as string);
      // Already reported missing: closed with the set's other gaps (advise() reads the named ids).
      if (this.missingIds.has(id)) span.named.add(id);
    }
  }

  // For a set: the sequences it misses beyond the lowest (dataCount - held) it still needs are closed, and
  // all it misses once it is finished. Until then the others wait `holdMs` after the set's latest segment:
  // its tail (parity last) may make them unneeded. The id-only gaps its segments' histories name are closed
  // once every sequence of the set not held has its own gap (the id asks for nothing more), or once the
  // sequence gaps kept are enough to finish the set (an id could only bring a segment beyond the need);
  // before that, e.g. at first contact, when a sender's earlier sequences open no gap, the id is the only
  // way to the first segments, and it waits like the rest. Only gaps the engine has reported are named.
  private advise(span: SetSpan, now = span.lastAt): Forgo | undefined {
    const total = span.dataCount + span.parityCount;
    const needed = span.finished ? 0 : Math.max(0, span.dataCount - span.held.size);
    const open = this.gaps.get(span.sender);
    const notHeld: number[] = [];
    let covered = true;
    for (let seq = span.start; seq < span.start + total; seq++) {
      if (span.held.has(seq)) continue;
      if (open?.has(seq) === true) notHeld.push(seq);
      else covered = false;
    }
    // The lowest sequences not held are the ones worth repairing (data before parity).
    const keep = notHeld.slice(0, needed);
    const drop = notHeld.slice(needed);
    for (const seq of drop) open?.delete(seq);
    const closeIds = span.finished || covered || keep.length >= needed;
    const named = [...span.named].filter((id) => this.missingIds.has(id));
    if (closeIds) for (const id of named) this.missingIds.delete(id);
    if (drop.length === 0 && keep.length === 0 && named.length === 0) return undefined;
    return {
      sender: span.sender,
      sequences: drop,
      ids: closeIds ? named : [],
      hold: span.finished ? [] : keep,
      holdIds: closeIds ? [] : named,
      until: Math.max(now, span.lastAt) + this.holdMs,
    };
  }

  private track(sender: string, hash: Uint8Array, segment: SegmentLike, sequence: number): SetSpan | undefined {
    const key = `${sender}/${hex(hash)}`;
    let span = this.sets.get(key);
    const dataCount = segment.kind === "data" ? segment.count : undefined;
    const parityCount = segment.kind === "parity" ? segment.count : segment.parityCount || undefined;
    if (span === undefined) {
      // Without the data count (a parity segment of a sender that does not name it on data) the span is unknown.
      if (dataCount === undefined) {
        const early = this.early.get(key) ?? [];
        early.push(sequence);
        this.early.set(key, early);
        if (this.early.size > MAX_GAPS) this.early.delete(this.early.keys().next().value as string);
        return undefined;
      }
      const start = sequence - segment.index;
      const held = new Set(this.early.get(key));
      this.early.delete(key);
      span = {
        key,
        sender,
        start,
        dataCount,
        parityCount: parityCount ?? 0,
        held,
        named: new Set(),
        finished: false,
        lastAt: 0,
        lamports: new Map(),
        chunk: undefined,
        parityOnData: false,
      };
      this.remember(key, span);
    } else if (parityCount !== undefined && span.parityCount === 0) {
      span.parityCount = parityCount;
      this.index(span);
    }
    return span;
  }

  private remember(key: string, span: SetSpan): void {
    this.sets.set(key, span);
    this.index(span);
    let keys = this.setsOf.get(span.sender);
    if (keys === undefined) {
      keys = [];
      this.setsOf.set(span.sender, keys);
    }
    keys.push(key);
    if (keys.length > this.keep) {
      const oldest = this.sets.get(keys.shift() as string);
      if (oldest !== undefined) this.unindex(oldest);
    }
  }

  private index(span: SetSpan): void {
    let bySeq = this.bySequence.get(span.sender);
    if (bySeq === undefined) {
      bySeq = new Map();
      this.bySequence.set(span.sender, bySeq);
    }
    for (let seq = span.start; seq < span.start + span.dataCount + span.parityCount; seq++) bySeq.set(seq, span);
  }

  private unindex(span: SetSpan): void {
    const bySeq = this.bySequence.get(span.sender);
    for (let seq = span.start; seq < span.start + span.dataCount + span.parityCount; seq++) {
      if (bySeq?.get(seq) === span) bySeq.delete(seq);
    }
    this.sets.delete(span.key);
    for (const id of span.named) if (this.byNamed.get(id) === span) this.byNamed.delete(id);
  }
}

/** A chunk's full length and whether data segments name the parity count, from a segment of the set. */
function noteShape(span: SetSpan, segment: Segment): void {
  if (segment.kind === "parity" || segment.index < segment.count - 1) span.chunk ??= segment.payload.length;
  if (segment.kind === "data" && (segment.parityCount ?? 0) > 0) span.parityOnData = true;
}

type SegmentLike =
  | { readonly kind: "data"; readonly index: number; readonly count: number; readonly parityCount?: number }
  | { readonly kind: "parity"; readonly index: number; readonly count: number };
