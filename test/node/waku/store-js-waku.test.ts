// The store v3 service of a Chorus node, queried by an unmodified js-waku 0.0.36 light node: time range
// forward and backward over several pages, by hash, hash plus cursor, a malformed query; order, counts
// and hashes exact.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { IDecodedMessage, LightNode } from "waku-sdk-036";
import { encodeWakuMessage } from "../../../src/wire/waku-message.js";
import { lightNode, PUBSUB_TOPIC, type ServiceNode, SHARD, serviceNode } from "./js-waku-light.js";

const TOPIC = "/chorus/1/qa/proto";
const OTHER = "/other-app/1/chat/proto";
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const NS = 1_000_000n;
const HALF_MS = 500_000n;

describe("store v3 against js-waku 0.0.36", () => {
  let owner: ServiceNode;
  let light: LightNode;
  const start = Date.now() - 60_000;
  /** Hashes of the 45 messages on TOPIC, in timestamp order. */
  const hashes: string[] = [];

  before(async () => {
    owner = await serviceNode();
    // 45 messages on our topic one millisecond apart, 5 on another app's topic in between. Each sits half a
    // millisecond past a whole one: js-waku turns a Date bound into nanoseconds through a double
    // (getTime() * 1e6), which is off by up to 128 ns, so a message exactly on a bound may fall either side.
    for (let i = 0; i < 45; i++) {
      const envelope = encodeWakuMessage({
        payload: new TextEncoder().encode(`m${i}`),
        contentTopic: TOPIC,
        version: 0,
        timestamp: BigInt(start + i) * NS + HALF_MS,
      });
      await owner.transport.publishEnvelope(PUBSUB_TOPIC, envelope);
      if (i % 9 === 0) {
        await owner.transport.publishEnvelope(
          PUBSUB_TOPIC,
          encodeWakuMessage({
            payload: Uint8Array.of(i),
            contentTopic: OTHER,
            timestamp: BigInt(start + i) * NS + HALF_MS,
          }),
        );
      }
    }
    assert.equal(owner.services.archive.size(), 50);
    light = await lightNode(owner.ws);
  });
  after(async () => {
    await light?.stop();
    await owner?.stop();
  });

  async function pages(options: Record<string, unknown>): Promise<string[][]> {
    const decoder = light.createDecoder({ contentTopic: TOPIC, shardId: SHARD });
    const out: string[][] = [];
    for await (const page of light.store.queryGenerator([decoder], options)) {
      const messages = (await Promise.all(page)).filter((m): m is IDecodedMessage => m !== undefined);
      out.push(messages.map((m) => hex(m.hash)));
    }
    return out;
  }

  it("fills the archive from the relay, and gets every hash from the envelopes", async () => {
    const decoder = light.createDecoder({ contentTopic: TOPIC, shardId: SHARD });
    for await (const page of light.store.queryGenerator([decoder], { paginationLimit: 100 })) {
      for (const m of await Promise.all(page)) if (m !== undefined) hashes.push(hex(m.hash));
    }
    assert.equal(hashes.length, 45);
    assert.equal(new Set(hashes).size, 45);
  });

  it("walks a time range forward over several pages", async () => {
    const got = await pages({
      timeStart: new Date(start + 5),
      timeEnd: new Date(start + 41),
      paginationForward: true,
      paginationLimit: 10,
    });
    assert.deepEqual(
      got.map((p) => p.length),
      [10, 10, 10, 6],
    );
    assert.deepEqual(got.flat(), hashes.slice(5, 41));
  });

  it("walks a time range backward over several pages, newest page first", async () => {
    const got = await pages({
      timeStart: new Date(start),
      timeEnd: new Date(start + 45),
      paginationForward: false,
      paginationLimit: 20,
    });
    assert.deepEqual(
      got.map((p) => p.length),
      [20, 20, 5],
    );
    assert.deepEqual(got[0], hashes.slice(25, 45));
    assert.deepEqual(got[2], hashes.slice(0, 5));
  });

  it("answers by hash, and with the last hash as cursor gives the empty page js-waku stops at", async () => {
    const asked = [hashes[30], hashes[2], hashes[17]].map((h) => Buffer.from(h as string, "hex"));
    const got = await pages({ messageHashes: asked, pubsubTopic: PUBSUB_TOPIC });
    assert.deepEqual(got, [[hashes[2], hashes[17], hashes[30]]]);
    const before = owner.services.stats.storeQueries;
    const after = await pages({
      messageHashes: asked,
      pubsubTopic: PUBSUB_TOPIC,
      paginationCursor: Buffer.from(hashes[30] as string, "hex"),
    });
    assert.deepEqual(after, []);
    assert.equal(owner.services.stats.storeQueries, before + 1);
  });

  it("answers a malformed query with an error status js-waku reports", async () => {
    await assert.rejects(
      pages({ paginationCursor: new Uint8Array(5), paginationForward: true }),
      /status code: 400, description: pagination_cursor is 5 bytes/,
    );
  });
});
