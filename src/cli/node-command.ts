import { type Command, InvalidArgumentError } from "commander";
import { senderIdOption } from "./identity.js";
import { EXIT_WITH_PARENT } from "./launch.js";
import type { NodeCommandOptions } from "./node-runner.js";
import { fraction, integer } from "./options.js";

function role(value: string): "owner" | "member" {
  if (value !== "owner" && value !== "member") {
    throw new InvalidArgumentError(`--role must be "owner" or "member", got "${value}"`);
  }
  return value;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function transport(value: string): "waku" | "libp2p" {
  if (value !== "waku" && value !== "libp2p") {
    throw new InvalidArgumentError(`--transport must be "waku" or "libp2p", got "${value}"`);
  }
  return value;
}

const shardNumber = integer("--shard", 0, 65_535);

/** `--content-topic channel=topic`: the Waku content topic a channel travels on instead of /chorus/1/<channel>/proto. */
function contentTopic(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0 || at === value.length - 1) {
    throw new InvalidArgumentError(`--content-topic must look like <channel>=<content topic>, got "${value}"`);
  }
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** `--param name=value`: an engine parameter, checked by the engine itself (unknown names and bad ranges fail). */
function param(value: string, previous: Record<string, number | boolean>): Record<string, number | boolean> {
  const match = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`--param must look like name=value, got "${value}"`);
  const raw = match[2]!;
  const parsed = raw === "true" ? true : raw === "false" ? false : Number(raw);
  if (typeof parsed === "number" && !Number.isFinite(parsed)) {
    throw new InvalidArgumentError(`--param ${match[1]} needs a number or true/false, got "${raw}"`);
  }
  return { ...previous, [match[1]!]: parsed };
}

export function registerNodeCommand(program: Command): void {
  program
    .command("node")
    .description("run a Chorus member or owner: Waku relay or libp2p gossipsub, SQLite, REST API and web UI")
    .option("--data-dir <dir>", "where the identity, messages and state live", ".chorus/node")
    .option("--role <role>", "owner (keeps history, answers catch-up) or member", role, "member")
    .option(
      "--transport <kind>",
      "waku (Waku relay, WakuMessage envelopes) or libp2p (plain gossipsub)",
      transport,
      "libp2p",
    )
    .option("--cluster <n>", "waku: the Waku cluster id", integer("--cluster", 0, 65_535))
    .option(
      "--shard <n>",
      "waku: a static shard to relay, /waku/2/rs/<cluster>/<shard> (repeatable; Chorus publishes on the first; default 0)",
      (v: string, prev: number[]) => [...prev, shardNumber(v)],
      [],
    )
    .option(
      "--content-topic <channel=topic>",
      "waku: the content topic a channel uses instead of /chorus/1/<channel>/proto (repeatable)",
      contentTopic,
      {},
    )
    .option("--listen <multiaddr>", "listen address, TCP or WebSocket (/ip4/…/tcp/<port>/ws) (repeatable)", collect, [])
    .option("--bootstrap <multiaddr>", "peer to dial at start, ending in /p2p/<peer id> (repeatable)", collect, [])
    .option("--api-host <host>", "REST API host", "127.0.0.1")
    .option("--api-port <port>", "REST API port (0 picks a free one)", integer("--api-port", 0, 65_535), 8080)
    .option("--channel <id>", "channel to join at start (repeatable)", collect, [])
    .option(
      "--loss <p>",
      "drop this share of the messages sent and received (fault injection, see PUT /v1/faults)",
      fraction("--loss"),
      0,
    )
    .option("--param <name=value>", "engine parameter, e.g. syncIntervalMs=15000 (repeatable)", param, {})
    .option(
      "--member <senderId>",
      "owner: a member of the channels' roster (repeatable; the owner is on it too)",
      (v: string, prev: string[]) => [...prev, senderIdOption("--member")(v)],
      [],
    )
    .option("--roster-file <path>", "owner: roster members, a JSON array or whitespace-separated sender ids")
    .option(
      "--owner <senderId>",
      "member: the owner's sender id, which must sign the roster",
      senderIdOption("--owner"),
    )
    .action(async (opts: NodeCommandOptions) => {
      const listen = opts.listen.length > 0 ? opts.listen : ["/ip4/127.0.0.1/tcp/0"];
      const { runNode } = await import("./node-runner.js");
      let running: Awaited<ReturnType<typeof runNode>>;
      try {
        running = await runNode({ ...opts, listen });
      } catch (err) {
        process.stderr.write(`chorus node: ${(err as Error).message}\n`);
        process.exit(2);
      }
      const { stop, url } = running;
      process.stdout.write(`chorus ${opts.role} ready: ${url}/ (API ${url}/v1, docs ${url}/docs)\n`);
      const shutdown = () => {
        stop().then(
          () => process.exit(0),
          (err) => {
            process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
      process.once("SIGHUP", shutdown);
      if (process.env[EXIT_WITH_PARENT] === "1") {
        // Started by `chorus up` or a test: the parent holds our stdin open for as long as it lives.
        process.stdin.once("close", shutdown);
        process.stdin.resume();
      }
    });
}
