// The light-node page: reads where its service node is from the URL, starts a Chorus member on a js-waku light
// node (member.ts), and shows the channel: its history from IndexedDB first (a reload keeps identity, history and
// sequence numbers), then others' messages as they are delivered, own ones with their receipt ("sent", then
// "delivered to k of N" against the owner's roster), the owner path and sync status, and a box to send. Built by
// `npm run build:browser`.
//
//   index.html?service=/ip4/127.0.0.1/tcp/60011/ws/p2p/12D3KooW…&channel=qa&cluster=42&shard=0[&owner=<sender id>]
//   [&catchup=<ms>]: how far back the light node reads its service node's store on subscribe (default one hour;
//   0 reads nothing, so what was missed comes over the owner path only).
import type { Channel, HistoryEntry } from "../../browser.js";
import { startLightMember } from "./member.js";

const DEFAULTS = { channel: "general", cluster: 42, shard: 0, waitMs: 20_000 };

interface PageConfig {
  readonly service: string;
  readonly channelId: string;
  readonly cluster: number;
  readonly shard: number;
  readonly syncIntervalMs: number | undefined;
  readonly ownerSenderId: string | undefined;
  readonly catchUpMs: number | undefined;
}

function integerParam(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const text = query.get(name);
  if (text === null) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`URL parameter ${name} must be an integer from 0 to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function readConfig(query: URLSearchParams): PageConfig {
  const service = query.get("service");
  if (service === null || service === "") {
    throw new RangeError("add ?service=<the service node's /ws multiaddr, ending in /p2p/<peer id>> to the URL");
  }
  return {
    service,
    channelId: query.get("channel") || DEFAULTS.channel,
    cluster: integerParam(query, "cluster", DEFAULTS.cluster, 65_535),
    shard: integerParam(query, "shard", DEFAULTS.shard, 65_535),
    syncIntervalMs: query.has("sync") ? integerParam(query, "sync", 0, 86_400_000) || undefined : undefined,
    ownerSenderId: query.get("owner") || undefined,
    catchUpMs: query.has("catchup") ? integerParam(query, "catchup", 0, 30 * 86_400_000) : undefined,
  };
}

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page lacks #${id}`);
  return found as T;
}

function element(tag: string, className: string, text = ""): HTMLElement {
  const e = document.createElement(tag);
  e.className = className;
  e.textContent = text;
  return e;
}

const short = (id: string) => `${id.slice(0, 8)}…`;

function setStatus(state: "connecting" | "live" | "error", text: string): void {
  const status = byId("status");
  status.dataset.state = state;
  status.textContent = text;
}

/** The log: one row per message, own ones with a receipt mark that only rises. */
class Log {
  private readonly rows = new Map<string, HTMLElement>();
  private readonly list = byId("log");

  add(id: string, from: string, text: string, own: boolean): void {
    const row = element("li", own ? "msg own" : "msg");
    row.dataset.id = id;
    row.append(element("span", "from mono", from), element("span", "text", text));
    if (own) {
      const mark = element("span", "mark", "sending…");
      mark.dataset.state = "sending";
      row.append(mark);
    }
    this.rows.set(id, row);
    this.list.append(row);
    row.scrollIntoView({ block: "end" });
  }

  mark(id: string, state: string, text: string, count = -1): void {
    const mark = this.rows.get(id)?.querySelector<HTMLElement>(".mark");
    if (mark === undefined || mark === null) return;
    // Receipts only rise: a late "sent" must not take "delivered to 1 of 2" back.
    if (Number(mark.dataset.count ?? -1) > count) return;
    mark.dataset.state = state;
    mark.dataset.count = String(count);
    mark.textContent = text;
  }
}

function receiptText(e: { readonly count: number; readonly of: number }): string {
  return e.of === 0 ? "sent · nobody else here yet" : `delivered to ${e.count} of ${e.of}`;
}

/**
 * An own message's receipts as the channel knows them now. The engine's snapshot keeps them (saved within a second
 * of a change), and the owner's news and others' summaries raise them from there: "0 of N" is what it knows.
 */
function markReceipts(log: Log, e: HistoryEntry): void {
  const r = e.receipts;
  if (r === undefined) log.mark(e.id, "sent", "sent", 0);
  else log.mark(e.id, r.count >= r.of && r.of > 0 ? "all" : "some", receiptText(r), r.count);
}

/** A roster came (or changed): N changed for every own message, whose marks are redrawn against it. */
function remarkOwn(channel: Channel, log: Log): void {
  for (let after = 0; ; ) {
    const page: HistoryEntry[] = channel.history(after, 500);
    if (page.length === 0) return;
    for (const e of page) {
      if (e.own) markReceipts(log, e);
      after = e.position;
    }
  }
}

/** The delivered log kept in IndexedDB, as the page showed it before a reload. */
function showHistory(channel: Channel, log: Log): number {
  const decoder = new TextDecoder();
  let shown = 0;
  for (let after = 0; ; ) {
    const page: HistoryEntry[] = channel.history(after, 500);
    if (page.length === 0) return shown;
    for (const e of page) {
      log.add(e.id, e.own ? "you" : short(e.senderId), decoder.decode(e.payload), e.own);
      markReceipts(log, e);
      after = e.position;
      shown++;
    }
  }
}

function ownerText(channel: Channel): string {
  const n = channel.rosterSize();
  const roster = n === undefined ? "" : ` · roster of ${n}`;
  switch (channel.ownerPath()) {
    case "up":
      return `owner path up${roster}`;
    case "down":
      return `owner away${roster}`;
    default:
      return "no owner path";
  }
}

function wire(channel: Channel, log: Log): void {
  const decoder = new TextDecoder();
  channel.on("received", (e) => log.add(e.id, short(e.senderId), decoder.decode(e.payload), false));
  channel.on("sent", (e) => log.mark(e.id, "sent", "sent", 0));
  channel.on("receipts", (e) => log.mark(e.id, e.count >= e.of ? "all" : "some", receiptText(e), e.count));
  channel.on("send-error", (e) => {
    if (e.id !== undefined) log.mark(e.id, "error", `not sent: ${e.error.message}`, Number.MAX_SAFE_INTEGER);
  });
  channel.on("sync", (s) => {
    byId("sync").textContent = s.text;
  });
  const form = byId<HTMLFormElement>("compose");
  const input = byId<HTMLInputElement>("content");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text === "") return;
    try {
      const id = channel.send(new TextEncoder().encode(text));
      log.add(id, "you", text, true);
      input.value = "";
    } catch (error) {
      setStatus("error", `not sent: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}

async function main(): Promise<void> {
  const config = readConfig(new URLSearchParams(location.search));
  byId("channel").textContent = `# ${config.channelId}`;
  setStatus("connecting", `dialling ${config.service}`);
  const member = await startLightMember({
    service: config.service,
    cluster: config.cluster,
    shard: config.shard,
    channelId: config.channelId,
    waitMs: DEFAULTS.waitMs,
    database: "chorus-light-page",
    ...(config.ownerSenderId === undefined ? {} : { ownerSenderId: config.ownerSenderId }),
    ...(config.catchUpMs === undefined ? {} : { catchUpMs: config.catchUpMs }),
    ...(config.syncIntervalMs === undefined
      ? {}
      : { params: { syncIntervalMs: config.syncIntervalMs, backlogSyncIntervalMs: config.syncIntervalMs } }),
  });
  const { channel, transport } = member;
  const me = byId("me");
  me.textContent = short(channel.senderId);
  me.dataset.sender = channel.senderId;
  const log = new Log();
  byId("log").dataset.history = String(showHistory(channel, log));
  wire(channel, log);
  const owner = byId("owner");
  let rosterSize = channel.rosterSize();
  const showOwner = () => {
    owner.dataset.state = channel.ownerPath();
    owner.textContent = ownerText(channel);
    if (channel.rosterSize() === rosterSize) return;
    rosterSize = channel.rosterSize();
    remarkOwn(channel, log);
  };
  showOwner();
  setInterval(showOwner, 500);
  setStatus("connecting", "subscribing through the service node");
  // Messages arrive once the service node accepted the filter subscription; until then a sent message would
  // still go out (light push), but nothing would come back.
  const live = setInterval(() => {
    if (!transport.isSubscribed(channel.topic)) return;
    clearInterval(live);
    // Peer ids share their first characters (the key type's prefix): the end tells service nodes apart.
    setStatus("live", `live · light node via …${(transport.peers()[0] ?? "?").slice(-8)}`);
    byId<HTMLInputElement>("content").disabled = false;
    byId<HTMLButtonElement>("send").disabled = false;
  }, 200);
  // Leaving: the engine's snapshot and every pending write reach IndexedDB before the page goes. A script that
  // navigates away (a test, a kiosk) awaits `chorusLeave()`; a closed tab gets as far as pagehide allows, and the
  // snapshots saved within a second of each receipt cover the rest.
  let leaving: Promise<void> | undefined;
  const leave = () => {
    leaving ??= member.close();
    return leaving;
  };
  (globalThis as { chorusLeave?: () => Promise<void> }).chorusLeave = leave;
  addEventListener("pagehide", () => void leave());
}

main().catch((error: unknown) => {
  setStatus("error", error instanceof Error ? error.message : String(error));
  console.error(error);
});
