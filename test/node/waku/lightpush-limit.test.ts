// The light push service's per-peer bound: past it, an unmodified js-waku 0.0.36 light node is answered
// 429 (light push v3's "too many requests") and nothing is relayed or archived; the bound's own rules
// (fixed windows, a bounded peer table) are checked directly.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { LightNode } from "waku-sdk-036";
import { answerLightPush, LIGHTPUSH_STATUS } from "../../../src/node/waku/lightpush-service.js";
import { PeerRateLimit } from "../../../src/node/waku/peer-rate-limit.js";
import { LightPushRequestV3Schema, LightPushResponseV3Schema } from "../../../src/wire/gen/waku/v2/light_push_pb.js";
import { lightNode, PUBSUB_TOPIC, type ServiceNode, SHARD, serviceNode } from "./js-waku-light.js";

describe("light push rate limit", () => {
  let owner: ServiceNode | undefined;
  let light: LightNode | undefined;
  after(async () => {
    await light?.stop();
    await owner?.stop();
  });

  it("answers a light node over its bound with 429 and relays nothing more", async () => {
    owner = await serviceNode({ lightPushLimit: { limit: 2, windowMs: 600_000 } });
    light = await lightNode(owner.ws);
    const encoder = light.createEncoder({ contentTopic: "/app/1/chat/proto", shardId: SHARD });
    const results = [];
    for (let i = 0; i < 3; i++) {
      results.push(await light.lightPush.send(encoder, { payload: Uint8Array.of(i) }, { autoRetry: false }));
    }
    assert.deepEqual(
      results.map((r) => r.successes.length),
      [1, 1, 0],
    );
    assert.equal(results[2]?.failures.length, 1);
    // js-waku 0.0.36 folds every status but 200 into one error (it logs the code): the service's count and
    // the answer itself (next test) show that it was 429.
    assert.equal(results[2]?.failures[0]?.error, "Remote peer rejected");
    assert.equal(owner.services.stats.lightPushes, 3);
    assert.equal(owner.services.stats.lightPushesRateLimited, 1);
    assert.equal(owner.services.archive.size(), 2);
    assert.equal(owner.services.report().lightPushesRateLimited, 1);
  });

  it("says 429 with the request id, before looking at the message", async () => {
    const request = toBinary(
      LightPushRequestV3Schema,
      create(LightPushRequestV3Schema, { requestId: "r-1", pubsubTopic: PUBSUB_TOPIC }),
    );
    const answer = fromBinary(
      LightPushResponseV3Schema,
      await answerLightPush(owner?.transport as NonNullable<typeof owner>["transport"], request, () => false),
    );
    assert.equal(answer.requestId, "r-1");
    assert.equal(answer.statusCode, LIGHTPUSH_STATUS.TOO_MANY_REQUESTS);
    assert.equal(answer.statusCode, 429);
    assert.match(answer.statusDesc ?? "", /rate limit/);
  });
});

describe("PeerRateLimit", () => {
  it("counts per peer in fixed windows", () => {
    const limit = new PeerRateLimit({ limit: 2, windowMs: 1_000 });
    assert.deepEqual(
      [limit.take("a", 0), limit.take("a", 10), limit.take("a", 20), limit.take("b", 20)],
      [true, true, false, true],
    );
    assert.equal(limit.take("a", 999), false);
    assert.equal(limit.take("a", 1_000), true, "a new window");
  });

  it("keeps at most maxPeers, dropping ended windows first, then the oldest", () => {
    const limit = new PeerRateLimit({ limit: 1, windowMs: 100, maxPeers: 2 });
    limit.take("a", 0);
    limit.take("b", 50);
    limit.take("c", 120); // a's window ended: a goes
    assert.equal(limit.size(), 2);
    assert.equal(limit.take("b", 121), false, "b is still counted");
    limit.take("d", 130); // none ended: the oldest (b) goes
    assert.equal(limit.size(), 2);
    assert.equal(limit.take("b", 131), true, "b starts afresh");
  });

  it("rejects bounds that are not positive integers, naming them", () => {
    assert.throws(() => new PeerRateLimit({ limit: 0, windowMs: 1 }), /limit must be a positive integer, got 0/);
    assert.throws(() => new PeerRateLimit({ limit: 1, windowMs: 1.5 }), /windowMs must be a positive integer, got 1.5/);
  });
});
