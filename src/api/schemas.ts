// JSON schemas of the REST API. Fastify validates requests and serialises responses with them, and
// the OpenAPI document is built from the same objects, so the docs cannot drift from the behaviour.
// Only standard JSON Schema keywords appear inside them (Ajv runs in strict mode).

export const MAX_LIMIT = 1_000;
export const DEFAULT_LIMIT = 50;

const errorSchema = (description: string) => ({
  description,
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", description: "Stable, machine-readable: invalid_request, channel_not_joined, ..." },
        message: { type: "string", description: "What was wrong, naming the field and the value." },
        field: { type: "string", description: "The request field at fault (400 only)." },
      },
    },
  },
});

const errors = {
  400: errorSchema("invalid_request (a parameter or body field is wrong; `field` names it) or invalid_json"),
  404: errorSchema("channel_not_joined, message_not_found or not_found"),
};

const channelIdSchema = {
  type: "string",
  minLength: 1,
  maxLength: 256,
  description: "Channel id, 1..256 characters (URL-encode it in paths).",
};

const channelParams = {
  type: "object",
  required: ["channelId"],
  additionalProperties: false,
  properties: { channelId: channelIdSchema },
};

const refSchema = {
  type: "object",
  description: "Names a message by id, by (sender, sequence number), or both.",
  properties: {
    messageId: { type: "string" },
    senderId: { type: "string" },
    seq: { type: "integer" },
  },
};

const equivocationSchema = {
  type: "object",
  description:
    "One sender signed several different messages with one sequence number. Every version is in the log " +
    "of every member, each delivered once (spec section 9.6); the sender is faulty or two processes share " +
    "its identity.",
  required: ["senderId", "seq", "messageIds", "detectedAt"],
  properties: {
    senderId: { type: "string" },
    seq: { type: "integer" },
    messageIds: { type: "array", items: { type: "string" }, description: "Every version found, ascending." },
    detectedAt: { type: "integer", description: "When this node first found it, Unix ms." },
  },
};

const retrievalHintSchema = {
  type: "string",
  description:
    "Where the network can find the message again, hex: on Waku the deterministic message hash (RFC 14), " +
    "which Waku store nodes answer queries by. Absent when the transport gave none (libp2p mode).",
};

export const logEntrySchema = {
  type: "object",
  required: ["position", "messageId", "senderId", "seq", "lamportTimestamp", "content", "receivedAt", "own"],
  properties: {
    position: { type: "integer", description: "1-based position in this node's delivered log." },
    messageId: { type: "string" },
    senderId: { type: "string", description: "The sender's ed25519 public key, hex." },
    seq: { type: ["integer", "null"], description: "The sender's sequence number; null for SDS peers." },
    lamportTimestamp: { type: "string", description: "uint64 as a decimal string." },
    content: { type: "string", description: "The content as UTF-8 text (invalid bytes become U+FFFD)." },
    contentBase64: { type: "string", description: "Present only when the content is not valid UTF-8." },
    receivedAt: { type: "integer", description: "When this node received (or sent) it, Unix ms." },
    own: { type: "boolean", description: "Sent by this node." },
    equivocation: {
      ...equivocationSchema,
      description: "Present when its sender signed another message with the same sequence number (spec 9.6).",
    },
    retrievalHint: retrievalHintSchema,
  },
};

const receiptsSchema = {
  type: ["object", "null"],
  description:
    "Who holds the message: 'delivered to count of members'. In a channel with a roster (`denominator` " +
    "roster), members is the roster minus the sender from the first answer on, and the owner pushes each " +
    "member's receipt to the sender as it learns it. Without one (`denominator` heard-from), the local view " +
    "of own messages is merged with the owner's aggregate (union of ackedBy, the larger member count). Null " +
    "when nobody tracks it.",
  required: ["count", "members", "ratio", "ackedBy", "notYet", "denominator"],
  properties: {
    count: { type: "integer", description: "Members known to hold it (not counting the sender)." },
    members: {
      type: "integer",
      description: "N: the roster's members other than the sender, or (without a roster) members heard from.",
    },
    ratio: { type: "number", description: "count / members, 0 when no member is known." },
    denominator: {
      type: "string",
      enum: ["roster", "heard-from"],
      description: "What members counts: the channel's signed roster, or the members heard from (no roster).",
    },
    ackedBy: { type: "array", items: { type: "string" }, description: "Sender ids of the members that hold it." },
    notYet: {
      type: "array",
      items: { type: "string" },
      description:
        "Members counted in N not known to hold it yet: with a roster, exactly the others; without one, the " +
        "members this node heard from.",
    },
    possiblyBy: {
      type: "array",
      items: { type: "string" },
      description: "Members whose filter said 'maybe', not confirmed yet.",
    },
    sources: {
      type: "array",
      items: { type: "string", enum: ["local", "owner"] },
      description: "Where the numbers come from: this node's engine and/or the owner's history service.",
    },
  },
};

export const healthSchema = {
  summary: "Node health and identity",
  tags: ["node"],
  response: {
    200: {
      description: "The node is up.",
      type: "object",
      required: ["status", "senderId", "peerId", "role", "multiaddrs", "transport", "contentTopics", "channels"],
      properties: {
        status: { type: "string", enum: ["ok"] },
        senderId: { type: "string", description: "This node's Chorus sender id (ed25519 public key, hex)." },
        peerId: { type: "string", description: "This node's transport peer id." },
        role: { type: "string", enum: ["owner", "member"] },
        multiaddrs: {
          type: "array",
          items: { type: "string" },
          description: "Every listen address other nodes can dial, each ending in /p2p/<peerId>.",
        },
        transport: {
          type: "string",
          enum: ["waku", "libp2p", "memory"],
          description: "waku: Waku relay; libp2p: plain gossipsub, one topic per channel; memory: in-process.",
        },
        pubsubTopic: {
          type: ["string", "null"],
          description: "Waku: the pubsub topic Chorus publishes on, /waku/2/rs/<cluster>/<shard>; null otherwise.",
        },
        pubsubTopics: {
          type: "array",
          items: { type: "string" },
          description: "Waku: every shard's pubsub topic this node relays (the first is pubsubTopic).",
        },
        contentTopics: {
          type: "object",
          additionalProperties: { type: "string" },
          description:
            "Per joined channel, the topic it travels on: on Waku its content topic, /chorus/1/<channel>/proto by default.",
        },
        channels: { type: "array", items: { type: "string" } },
        ownerPeerId: { type: ["string", "null"], description: "The owner's peer id, once found (members)." },
        startChannel: {
          type: ["string", "null"],
          description: "The first channel the node was started with (`--channel`); the web UI opens it first.",
        },
        wakuServices: {
          type: ["object", "null"],
          description:
            "Waku mode, owner: its Waku services (store v3, filter v2, light push v3) and archive, counted since start; null elsewhere.",
          properties: Object.fromEntries(
            [
              "archivedMessages",
              "archived",
              "archiveErrors",
              "storeQueries",
              "lightPushes",
              "lightPushesRateLimited",
              "filterRequests",
              "filterSubscribers",
              "filterPushes",
              "filterPushesFailed",
              "filterPushesDropped",
            ].map((k) => [k, { type: "integer" }]),
          ),
        },
      },
    },
  },
};

const channelSummary = {
  type: "object",
  required: ["channelId", "delivered", "missing", "members"],
  properties: {
    channelId: { type: "string" },
    delivered: { type: "integer", description: "Length of the delivered log." },
    missing: { type: "integer", description: "Messages known to exist and not here yet." },
    members: { type: "integer", description: "Members heard from, other than this node." },
  },
};

export const listChannelsSchema = {
  summary: "List joined channels",
  tags: ["channels"],
  response: {
    200: {
      description: "Joined channels in id order.",
      type: "object",
      required: ["channels"],
      properties: { channels: { type: "array", items: channelSummary } },
    },
  },
};

export const joinChannelSchema = {
  summary: "Join a channel",
  description:
    "Idempotent: 201 when the channel was joined now, 200 when it was already joined (never 409). A member " +
    "then catches up from the owner in the background.",
  tags: ["channels"],
  body: {
    type: "object",
    required: ["channelId"],
    additionalProperties: false,
    properties: { channelId: channelIdSchema },
  },
  response: {
    200: { description: "Already joined.", ...channelSummary },
    201: { description: "Joined now.", ...channelSummary },
    400: errors[400],
  },
};

export const sendSchema = {
  summary: "Send a message",
  description:
    "Stores the message, then publishes it. `content` is UTF-8 text, at most the configured limit (64 KiB by " +
    "default) in UTF-8 bytes. Ephemeral messages are neither stored, numbered nor repaired: their " +
    "lamportTimestamp and seq are null.",
  tags: ["messages"],
  params: channelParams,
  body: {
    type: "object",
    required: ["content"],
    additionalProperties: false,
    properties: {
      content: { type: "string", minLength: 1, description: "UTF-8 text, not empty." },
      ephemeral: { type: "boolean", default: false, description: "Best effort only: no receipts, no repair." },
    },
  },
  response: {
    201: {
      description: "Stored and published.",
      type: "object",
      required: ["messageId", "lamportTimestamp", "seq"],
      properties: {
        messageId: { type: "string" },
        lamportTimestamp: { type: ["string", "null"], description: "uint64 as a decimal string." },
        seq: { type: ["integer", "null"], description: "This node's sequence number for the message." },
      },
    },
    ...errors,
    413: errorSchema("content_too_large (content over the limit) or body_too_large (request body over the limit)"),
  },
};

export const listMessagesSchema = {
  summary: "Read the delivered log",
  description:
    "Messages in the order this node delivered them (causal order). Page with `after`: pass the last " +
    "position you have, or the `next` of the previous page.",
  tags: ["messages"],
  params: channelParams,
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: {
      limit: {
        type: "integer",
        minimum: 1,
        maximum: MAX_LIMIT,
        default: DEFAULT_LIMIT,
        description: `At most this many messages (1..${MAX_LIMIT}).`,
      },
      after: {
        type: "integer",
        minimum: 0,
        default: 0,
        description: "Start after this log position; 0 starts at the beginning.",
      },
    },
  },
  response: {
    200: {
      description: "One page of the log.",
      type: "object",
      required: ["messages", "next", "total"],
      properties: {
        messages: { type: "array", items: logEntrySchema },
        next: {
          type: ["integer", "null"],
          description: "The `after` of the next page; null when this page reached the end of the log.",
        },
        total: { type: "integer", description: "Length of the delivered log now." },
      },
    },
    ...errors,
  },
};

export const getMessageSchema = {
  summary: "One message: state and receipts",
  description:
    "For own messages, `state` is pending, possibly-acknowledged or acknowledged (with the owner's receipts " +
    "counted in), and `receipts` says who holds it (`ackedBy`) and who not yet (`notYet`) of N (`members`). " +
    "In a channel with a roster, N is the roster minus the sender and the owner pushes receipts as members " +
    "report them; without one, a member also asks the owner (within a bounded time; skipped while the owner " +
    "is away), so it counts members it never heard from. For others' messages, `state` is delivered, pending " +
    "(waiting for what it depends on), missing or lost.",
  tags: ["messages"],
  params: {
    type: "object",
    required: ["channelId", "messageId"],
    additionalProperties: false,
    properties: {
      channelId: channelIdSchema,
      messageId: { type: "string", minLength: 1, maxLength: 128 },
    },
  },
  response: {
    200: {
      description: "What this node knows of the message.",
      type: "object",
      required: ["messageId", "senderId", "state", "own", "receipts"],
      properties: {
        messageId: { type: "string" },
        senderId: { type: ["string", "null"], description: "Null for a missing message known only by id." },
        state: {
          type: "string",
          enum: ["pending", "possibly-acknowledged", "acknowledged", "delivered", "missing", "lost"],
        },
        own: { type: "boolean" },
        seq: { type: ["integer", "null"] },
        lamportTimestamp: { type: ["string", "null"] },
        position: { type: ["integer", "null"], description: "Position in the delivered log, null if not delivered." },
        content: { type: ["string", "null"], description: "UTF-8 text, null when not stored here." },
        receivedAt: { type: ["integer", "null"] },
        retrievalHint: retrievalHintSchema,
        resends: { type: "integer", description: "Own messages: times it was published again." },
        receipts: receiptsSchema,
      },
    },
    ...errors,
  },
};

export const missingSchema = {
  summary: "Messages known to be missing",
  description: "Gaps this node detected and has not repaired or given up on yet.",
  tags: ["messages"],
  params: channelParams,
  response: {
    200: {
      description: "Missing messages.",
      type: "object",
      required: ["channelId", "missing"],
      properties: { channelId: { type: "string" }, missing: { type: "array", items: refSchema } },
    },
    ...errors,
  },
};

export const equivocationsSchema = {
  summary: "Equivocations found",
  description:
    "Senders this node found signing two or more different messages with one sequence number, oldest " +
    "first (the newest 1,024 are kept). Each version stays in the log; see spec section 9.6.",
  tags: ["messages"],
  params: channelParams,
  response: {
    200: {
      description: "Equivocations.",
      type: "object",
      required: ["channelId", "equivocations"],
      properties: { channelId: { type: "string" }, equivocations: { type: "array", items: equivocationSchema } },
    },
    ...errors,
  },
};

const faultStateSchema = {
  description: "What this node drops now, and how many messages it dropped since it started.",
  type: "object",
  required: ["loss", "isolated", "dropped"],
  properties: {
    loss: { type: "number", description: "Probability that one published or one received message is dropped." },
    isolated: { type: "array", items: { type: "string" }, description: "Peer ids this node is cut off from." },
    dropped: {
      type: "object",
      required: ["incoming", "outgoing", "requests"],
      properties: { incoming: { type: "integer" }, outgoing: { type: "integer" }, requests: { type: "integer" } },
    },
  },
};

export const getFaultsSchema = {
  summary: "Injected faults",
  description: "The faults set with PUT /v1/faults (or `chorus node --loss`), and what they dropped so far.",
  tags: ["faults"],
  response: { 200: faultStateSchema },
};

export const setFaultsSchema = {
  summary: "Inject faults",
  description:
    "For QA: `loss` drops each message this node publishes and each it receives with that probability " +
    "(requests, the repair path, are kept); `isolated` names peers (ids as in GET /v1/peers) whose " +
    "publications are dropped on arrival and whose requests fail both ways. This node's own messages still " +
    "reach them through other peers' relays: isolate on both sides to cut both directions. Fields left out " +
    "keep their value. Watch gaps open (GET .../missing, `missing` events) and close (`repaired`).",
  tags: ["faults"],
  body: {
    type: "object",
    additionalProperties: false,
    properties: {
      loss: { type: "number", minimum: 0, maximum: 1 },
      isolated: { type: "array", maxItems: 256, items: { type: "string", minLength: 1, maxLength: 1024 } },
    },
  },
  response: { 200: faultStateSchema, 400: errors[400] },
};

export const clearFaultsSchema = {
  summary: "Heal: drop nothing",
  description: "Sets loss to 0 and isolates no peer. The protocol then repairs whatever was dropped.",
  tags: ["faults"],
  response: { 200: faultStateSchema },
};

export const membersSchema = {
  summary: "Members heard from",
  description:
    "Senders this node heard from in the channel (content or sync messages), most recently heard first. " +
    "They are the N of a receipt's 'delivered to k of N'.",
  tags: ["channels"],
  params: channelParams,
  response: {
    200: {
      description: "Members.",
      type: "object",
      required: ["channelId", "self", "members"],
      properties: {
        channelId: { type: "string" },
        self: { type: "string", description: "This node's sender id (not in the list)." },
        members: {
          type: "array",
          items: {
            type: "object",
            required: ["senderId", "lastHeardAt"],
            properties: {
              senderId: { type: "string" },
              lastHeardAt: { type: "integer", description: "Unix ms." },
            },
          },
        },
      },
    },
    ...errors,
  },
};

export const rosterSchema = {
  summary: "The channel's roster and owner path",
  description:
    "The signed member list the owner publishes (the N of 'delivered to k of N'), as this node verified it, " +
    "and whether the direct path to the owner (/chorus/owner/1) is up: receipts pushed within a second, gaps " +
    "fetched from the owner in one round trip. Without a roster, receipts count the members heard from.",
  tags: ["channels"],
  params: channelParams,
  response: {
    200: {
      description: "Roster and owner path.",
      type: "object",
      required: ["channelId", "denominator", "ownerPath", "roster"],
      properties: {
        channelId: { type: "string" },
        denominator: { type: "string", enum: ["roster", "heard-from"], description: "What N in receipts counts." },
        ownerPath: {
          type: "string",
          enum: ["up", "down", "none", "self"],
          description:
            "up: the owner answers (receipts and gap fill over the direct path); down: it does not answer now " +
            "(the topic carries receipts and repair); none: no roster; self: this node is the owner and serves it.",
        },
        roster: {
          type: ["object", "null"],
          required: ["version", "owner", "members"],
          properties: {
            version: { type: "integer", description: "Rises with every change (and owner restart)." },
            owner: { type: "string", description: "The owner's sender id, which signed it." },
            members: { type: "array", items: { type: "string" }, description: "Sender ids, the owner's included." },
          },
        },
      },
    },
    ...errors,
  },
};

export const peersSchema = {
  summary: "Connected transport peers",
  tags: ["node"],
  response: {
    200: {
      description: "Peers.",
      type: "object",
      required: ["peerId", "peers"],
      properties: {
        peerId: { type: "string", description: "This node's peer id." },
        ownerPeerId: { type: ["string", "null"] },
        peers: {
          type: "array",
          items: {
            type: "object",
            required: ["peerId", "owner"],
            properties: { peerId: { type: "string" }, owner: { type: "boolean" } },
          },
        },
      },
    },
  },
};

export const EVENT_TYPES = [
  "delivered",
  "acknowledged",
  "missing",
  "repaired",
  "lost",
  "ephemeral",
  "rejected",
  "equivocation",
] as const;

export const eventsSchema = {
  summary: "Server-sent events",
  description:
    "A text/event-stream. Each event has `event:` delivered, acknowledged, missing, repaired, lost, ephemeral, " +
    "rejected or equivocation, and `data:` one JSON object with channelId and at (Unix ms). delivered: " +
    "{position, message (as in the log)}; acknowledged: {messageId, by, count, members}; missing: {ref, " +
    "source}; repaired: {messageId, senderId, seq, afterMs}; lost: {ref, dependents}; equivocation: " +
    "{senderId, seq, messageIds, detectedAt}. A comment line is sent as a heartbeat.",
  tags: ["events"],
  querystring: {
    type: "object",
    additionalProperties: false,
    properties: {
      channel: { ...channelIdSchema, description: "Only this channel's events." },
      types: {
        type: "string",
        minLength: 1,
        description: `Comma-separated event types to receive (default: all of ${EVENT_TYPES.join(", ")}).`,
      },
      limit: {
        type: "integer",
        minimum: 1,
        maximum: 1_000_000,
        description: "End the stream after this many events (handy for scripts and curl).",
      },
    },
  },
};

export const metricsSchema = {
  summary: "Prometheus metrics",
  tags: ["node"],
};

export const openapiSchema = { summary: "This API as an OpenAPI 3.1 document", tags: ["docs"] };
export const docsSchema = { summary: "This API as a readable HTML page", tags: ["docs"] };
