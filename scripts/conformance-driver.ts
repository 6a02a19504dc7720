// The reference engine as a conformance driver (spec Appendix B): reads one JSON request per line on stdin,
// writes one JSON response per line on stdout. Any implementation can be checked by scripts/conformance.ts
// through a driver like this one, in any language.
//
//   npx tsx scripts/conformance.ts -- npx tsx scripts/conformance-driver.ts
//
// `--mutate <rule>` switches a rule off (src/core/params.ts MUTATIONS), so that the runner can be shown to fail.
import { createInterface } from "node:readline";
import { ChannelEngine, type EngineEvent, identityFromSecretKey, type Params } from "../src/core/index.js";
import { seededRandom } from "../src/core/prng.js";
import { type ListedDraw, ListedDraws } from "./vector-draws.js";
import { normalEvents, normalReceipts } from "./vector-scenarios.js";

interface Request {
  readonly op: "reset" | "create" | "send" | "send-ephemeral" | "receive" | "tick" | "owner-path" | "state";
  readonly member?: string;
  readonly at?: number;
  readonly content?: string;
  readonly bytes?: string;
  readonly channelId?: string;
  readonly secretKey?: string;
  readonly joinedAt?: number;
  readonly seed?: number;
  readonly params?: Partial<Params>;
  readonly preferredResponders?: string[];
  readonly memberList?: string[] | null;
  readonly messageIds?: string[];
  readonly up?: boolean;
  readonly draws?: ListedDraw[];
}

const mutateAt = process.argv.indexOf("--mutate");
const mutations = mutateAt >= 0 ? [process.argv[mutateAt + 1]!] : undefined;
const unhex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
let engines = new Map<string, { engine: ChannelEngine; draws: ListedDraws }>();

/** The member's engine, its randomness set to the draws the request lists (or its own source without them). */
function engineOf(member: string | undefined, draws?: readonly ListedDraw[]): ChannelEngine {
  const entry = engines.get(member ?? "");
  if (entry === undefined) throw new RangeError(`no member ${JSON.stringify(member)}; create it first`);
  entry.draws.expect(draws);
  return entry.engine;
}

function stepJson(step: {
  outgoing: readonly { bytes: Uint8Array; purpose: string }[];
  events: readonly EngineEvent[];
}) {
  return {
    outgoing: step.outgoing.map((o) => ({ purpose: o.purpose, bytes: hex(o.bytes) })),
    events: normalEvents(step.events),
  };
}

function handle(r: Request): unknown {
  switch (r.op) {
    case "reset":
      engines = new Map();
      return { ok: true };
    case "create": {
      const list = r.memberList === null || r.memberList === undefined ? undefined : new Set(r.memberList);
      const params = { ...r.params, ...(mutations === undefined ? {} : { __mutations: mutations }) };
      const draws = new ListedDraws(seededRandom(r.seed ?? 0));
      const engine = new ChannelEngine({
        channelId: r.channelId!,
        identity: identityFromSecretKey(unhex(r.secretKey!)),
        random: draws.random,
        now: r.joinedAt!,
        params: params as Partial<Params>,
        preferredResponders: r.preferredResponders ?? [],
        ...(list === undefined ? {} : { isMember: (id: string) => list.has(id) }),
      });
      engines.set(r.member!, { engine, draws });
      return { ok: true };
    }
    case "send":
      return stepJson(engineOf(r.member, r.draws).send(unhex(r.content!), r.at!));
    case "send-ephemeral":
      return stepJson(engineOf(r.member, r.draws).sendEphemeral(unhex(r.content!), r.at!));
    case "receive":
      return stepJson(engineOf(r.member, r.draws).receive(unhex(r.bytes!), r.at!));
    case "tick":
      return stepJson(engineOf(r.member, r.draws).tick(r.at!));
    case "owner-path":
      engineOf(r.member, r.draws).setOwnerPath(r.up === true, r.at!);
      return { outgoing: [], events: [] };
    case "state": {
      const engine = engineOf(r.member);
      const receipts: Record<string, unknown> = {};
      for (const id of r.messageIds ?? []) {
        const got = normalReceipts(engine, id);
        if (got !== undefined) receipts[id] = got;
      }
      return {
        log: engine.deliveredLog().map((d) => d.messageId),
        missing: engine.missingRefs().map((ref) => ({ ...ref })),
        receipts,
      };
    }
    default:
      throw new RangeError(`unknown op ${JSON.stringify((r as { op: unknown }).op)}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim() === "") return;
  let response: unknown;
  try {
    response = handle(JSON.parse(line) as Request);
  } catch (err) {
    response = { error: (err as Error).message };
  }
  process.stdout.write(`${JSON.stringify(response)}\n`);
});
