import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { NodeEvent } from "../node/channel.js";
import type { ChorusNode } from "../node/node.js";

type Labels = Record<string, string>;
/** One value of a metric: its labels (the registry adds `role`) and the number. */
type Sample = readonly [labels: Labels, value: number];
type EventOf<T extends NodeEvent["type"]> = Extract<NodeEvent, { type: T }>;

/** Where the values read at scrape time come from. */
export interface MetricSources {
  readonly node: ChorusNode;
  /** Open server-sent event streams. */
  sseClients(): number;
}

/** A metric that follows node events of one type: what one event adds (counters) or observes (histograms). */
interface EventRule {
  readonly type: NodeEvent["type"];
  sample(event: NodeEvent): Sample | undefined;
}

interface MetricRow {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly labels?: readonly string[];
  readonly buckets?: readonly number[];
  readonly observe?: EventRule;
  /** Read at scrape time: every labelled value (for a counter, its total so far). */
  readonly collect?: (sources: MetricSources) => Sample[];
}

const CHANNEL = ["channel"] as const;
const REQUESTS = "chorus_api_requests_total";

/** Follows events of `type`; by default each counts one, labelled with its channel. */
function on<T extends NodeEvent["type"]>(
  type: T,
  sample: (event: EventOf<T>) => Sample | undefined = (event) => [{ channel: event.channelId }, 1],
): EventRule {
  return { type, sample: sample as (event: NodeEvent) => Sample | undefined };
}

function perChannel(node: ChorusNode, value: (channelId: string) => number): Sample[] {
  return node.listChannels().map((channel) => [{ channel }, value(channel)]);
}

/** The node keeps its catch-up reports; these counters are their totals. */
function catchUpTotal(node: ChorusNode, of: (report: ChorusNode["catchUps"][number]) => number): Sample[] {
  return [[{}, node.catchUps.reduce((sum, report) => sum + of(report), 0)]];
}

type OwnerStats = ReturnType<ChorusNode["ownerPathStats"]>;

/** One total of the owner path: the owner's side (absent on members) or a member's client side. */
function ownerTotal(node: ChorusNode, of: (stats: OwnerStats) => number | undefined): Sample[] {
  const value = of(node.ownerPathStats());
  return value === undefined ? [] : [[{}, value]];
}

/** A metric of the owner path, read at scrape time; `of` gives undefined where it does not apply (owner vs member). */
function ownerRow(
  name: string,
  help: string,
  type: "counter" | "gauge",
  of: (stats: OwnerStats) => number | undefined,
): MetricRow {
  return { name, help, type, collect: ({ node }) => ownerTotal(node, of) };
}

/** Member-side totals: the owner node reports its own side instead. */
const onMember = (of: (client: OwnerStats["client"]) => number) => (s: OwnerStats) =>
  s.server === undefined ? of(s.client) : undefined;

/** The owner path's metrics: what the owner serves (and keeps), and what a member sends and receives. */
const OWNER_METRICS: readonly MetricRow[] = [
  ownerRow(
    "chorus_owner_reports_accepted_total",
    "Receipt reports the owner accepted (signature and roster checked).",
    "counter",
    (s) => s.server?.reportsAccepted,
  ),
  ownerRow(
    "chorus_owner_reports_refused_total",
    "Receipt reports the owner refused.",
    "counter",
    (s) => s.server?.reportsRefused,
  ),
  ownerRow(
    "chorus_owner_pairs_learnt_total",
    "(message, member) receipts the owner learnt from reports.",
    "counter",
    (s) => s.server?.pairsLearnt,
  ),
  ownerRow(
    "chorus_owner_news_sent_total",
    "News the owner sent (answers to reports and watches).",
    "counter",
    (s) => s.server?.newsSent,
  ),
  ownerRow(
    "chorus_owner_fetches_served_total",
    "Gap fills (FETCH) the owner answered.",
    "counter",
    (s) => s.server?.fetches,
  ),
  ownerRow("chorus_owner_watches", "Members waiting for news (open watches).", "gauge", (s) => s.server?.watches),
  ownerRow(
    "chorus_owner_ledger_messages",
    "Messages whose holders the owner's ledger keeps (bounded by its window).",
    "gauge",
    (s) => s.server?.ledgerMessages,
  ),
  ownerRow(
    "chorus_owner_ledger_bytes",
    "Bytes of holder bitmaps in the owner's ledger.",
    "gauge",
    (s) => s.server?.ledgerBytes,
  ),
  ownerRow(
    "chorus_owner_reports_sent_total",
    "Receipt reports of this member the owner accepted.",
    "counter",
    onMember((c) => c.reportsSent),
  ),
  ownerRow(
    "chorus_owner_reports_failed_total",
    "Receipt reports that failed or were refused (their claims go into the next one).",
    "counter",
    onMember((c) => c.reportsFailed),
  ),
  ownerRow(
    "chorus_owner_news_received_total",
    "News this member received from the owner.",
    "counter",
    onMember((c) => c.newsReceived),
  ),
  ownerRow(
    "chorus_owner_fetched_messages_total",
    "Messages this member fetched from the owner to fill gaps.",
    "counter",
    onMember((c) => c.fetchedMessages),
  ),
];

type WakuReport = NonNullable<ReturnType<NonNullable<ChorusNode["wakuServices"]>["report"]>>;

/** A metric of the owner's Waku services (store, filter, light push, archive); absent on nodes without them. */
function wakuRow(name: string, help: string, type: "counter" | "gauge", key: keyof WakuReport): MetricRow {
  return {
    name,
    help,
    type,
    collect: ({ node }) => {
      const report = node.wakuServices?.report();
      return report === undefined ? [] : [[{}, report[key]]];
    },
  };
}

/** The Waku services of an owner in Waku mode (spec 19.4.1). */
const WAKU_METRICS: readonly MetricRow[] = [
  wakuRow("chorus_waku_archive_messages", "WakuMessages in the archive the store serves.", "gauge", "archivedMessages"),
  wakuRow("chorus_waku_archived_total", "WakuMessages archived since start.", "counter", "archived"),
  wakuRow("chorus_waku_archive_errors_total", "WakuMessages the archive failed to keep.", "counter", "archiveErrors"),
  wakuRow("chorus_waku_store_queries_total", "Store v3 queries answered.", "counter", "storeQueries"),
  wakuRow("chorus_waku_lightpush_total", "Light push v3 requests answered.", "counter", "lightPushes"),
  wakuRow(
    "chorus_waku_lightpush_rate_limited_total",
    "Light pushes refused with 429: the peer was over its bound.",
    "counter",
    "lightPushesRateLimited",
  ),
  wakuRow("chorus_waku_filter_requests_total", "Filter v2 subscribe requests answered.", "counter", "filterRequests"),
  wakuRow("chorus_waku_filter_subscribers", "Light nodes with a filter subscription.", "gauge", "filterSubscribers"),
  wakuRow("chorus_waku_filter_pushes_total", "Filter pushes delivered.", "counter", "filterPushes"),
  wakuRow("chorus_waku_filter_push_failures_total", "Filter pushes that failed.", "counter", "filterPushesFailed"),
];

/** Every metric of the API, in the order of the exposition. */
export const METRICS: readonly MetricRow[] = [
  {
    name: "chorus_messages_sent_total",
    help: "Own messages sent (stored and published).",
    type: "counter",
    labels: CHANNEL,
    observe: on("delivered", (e) => (e.message.own ? [{ channel: e.channelId }, 1] : undefined)),
  },
  {
    name: "chorus_messages_delivered_total",
    help: "Messages of other senders delivered, in causal order.",
    type: "counter",
    labels: CHANNEL,
    observe: on("delivered", (e) => (e.message.own ? undefined : [{ channel: e.channelId }, 1])),
  },
  {
    name: "chorus_ephemeral_received_total",
    help: "Ephemeral messages received.",
    type: "counter",
    labels: CHANNEL,
    observe: on("ephemeral"),
  },
  {
    name: "chorus_gaps_detected_total",
    help: "Messages detected missing, by how the gap was noticed.",
    type: "counter",
    labels: ["channel", "source"],
    observe: on("missing", (e) => [{ channel: e.channelId, source: e.source }, 1]),
  },
  {
    name: "chorus_repairs_total",
    help: "Missing messages that arrived after all.",
    type: "counter",
    labels: CHANNEL,
    observe: on("repaired"),
  },
  {
    name: "chorus_repair_seconds",
    help: "Time from detecting a gap to repairing it.",
    type: "histogram",
    labels: CHANNEL,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    observe: on("repaired", (e) => [{ channel: e.channelId }, e.afterMs / 1000]),
  },
  {
    name: "chorus_messages_lost_total",
    help: "Missing messages given up on (their dependents were delivered without them).",
    type: "counter",
    labels: CHANNEL,
    observe: on("lost"),
  },
  {
    name: "chorus_acks_total",
    help: "Receipts learnt for own messages (one per member and message).",
    type: "counter",
    labels: CHANNEL,
    observe: on("acknowledged"),
  },
  {
    name: "chorus_equivocations_total",
    help: "Times a sender was found signing another message with a sequence number already delivered.",
    type: "counter",
    labels: CHANNEL,
    observe: on("equivocation"),
  },
  {
    name: "chorus_messages_rejected_total",
    help: "Incoming messages refused (bad signature, wrong id, too far in the future, ...).",
    type: "counter",
    labels: CHANNEL,
    observe: on("rejected"),
  },
  {
    name: "chorus_sse_clients",
    help: "Open server-sent event streams.",
    type: "gauge",
    collect: (s) => [[{}, s.sseClients()]],
  },
  // Counted by the API itself, once per answered request (ApiMetrics.request).
  { name: REQUESTS, help: "REST API requests answered.", type: "counter", labels: ["method", "route", "status"] },
  {
    name: "chorus_catchups_total",
    help: "Catch-ups from the owner's history service (or a Waku store, the fallback).",
    type: "counter",
    collect: ({ node }) => catchUpTotal(node, () => 1),
  },
  {
    name: "chorus_catchups_waku_store_total",
    help: "Catch-ups answered by a Waku store because no owner answered (spec 19.4).",
    type: "counter",
    collect: ({ node }) => catchUpTotal(node, (r) => (r.source === "waku-store" ? 1 : 0)),
  },
  {
    name: "chorus_catchup_round_trips_total",
    help: "Round trips during catch-ups: history requests, or store pages when a Waku store answered.",
    type: "counter",
    collect: ({ node }) => catchUpTotal(node, (r) => r.roundTrips),
  },
  {
    name: "chorus_catchup_messages_total",
    help: "Messages received during catch-ups.",
    type: "counter",
    collect: ({ node }) => catchUpTotal(node, (r) => r.messages),
  },
  {
    name: "chorus_missing_messages",
    help: "Messages known to be missing right now.",
    type: "gauge",
    labels: CHANNEL,
    collect: ({ node }) => perChannel(node, (id) => node.channel(id).missingCount()),
  },
  {
    name: "chorus_known_members",
    help: "Members heard from, other than this node.",
    type: "gauge",
    labels: CHANNEL,
    collect: ({ node }) => perChannel(node, (id) => node.channel(id).knownMembers()),
  },
  {
    name: "chorus_delivered_log_length",
    help: "Length of the delivered log.",
    type: "gauge",
    labels: CHANNEL,
    collect: ({ node }) => perChannel(node, (id) => node.countDelivered(id)),
  },
  {
    name: "chorus_peers",
    help: "Connected transport peers.",
    type: "gauge",
    collect: ({ node }) => [[{}, node.transport.peers().length]],
  },
  {
    name: "chorus_owner_path_up",
    help: "1 while the channel's owner path is up (members), or served here (the owner); 0 otherwise.",
    type: "gauge",
    labels: CHANNEL,
    collect: ({ node }) => perChannel(node, (id) => (["up", "self"].includes(node.ownerPath(id)) ? 1 : 0)),
  },
  ...OWNER_METRICS,
  ...WAKU_METRICS,
];

/** A registered metric, reduced to what the table drives: add to it, or replace its values at scrape time. */
interface Driven {
  add(labels: Labels, value: number): void;
}

/** Scrape-time values replace the previous ones: a gauge is set, a counter is reset and raised to its total. */
function scrape(row: MetricRow, sources: MetricSources, metric: () => Counter | Gauge) {
  const collect = row.collect;
  if (collect === undefined) return {};
  return {
    collect() {
      const m = metric();
      m.reset();
      for (const [labels, value] of collect(sources)) {
        if (m instanceof Counter) m.inc(labels, value);
        else m.set(labels, value);
      }
    },
  };
}

function register(row: MetricRow, registry: Registry, sources: MetricSources): Driven {
  const config = { name: row.name, help: row.help, labelNames: row.labels ?? [], registers: [registry] };
  switch (row.type) {
    case "counter": {
      const counter: Counter = new Counter({ ...config, ...scrape(row, sources, () => counter) });
      return { add: (labels, value) => counter.inc(labels, value) };
    }
    case "gauge": {
      const gauge: Gauge = new Gauge({ ...config, ...scrape(row, sources, () => gauge) });
      return { add: (labels, value) => gauge.inc(labels, value) };
    }
    case "histogram": {
      const histogram = new Histogram({ ...config, buckets: [...(row.buckets ?? [])] });
      return { add: (labels, value) => histogram.observe(labels, value) };
    }
  }
}

/** The Prometheus metrics of one API instance, in a registry of its own (two nodes in one process do not mix). */
export interface ApiMetrics {
  readonly registry: Registry;
  /** Counts one answered request. */
  request(labels: { method: string; route: string; status: string }): void;
  observe(event: NodeEvent): void;
}

export function createMetrics(sources: MetricSources, options: { readonly processMetrics: boolean }): ApiMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ role: sources.node.role });
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: "chorus_process_" });
  const byName = new Map<string, Driven>();
  const byEvent = new Map<NodeEvent["type"], { rule: EventRule; metric: Driven }[]>();
  for (const row of METRICS) {
    const metric = register(row, registry, sources);
    byName.set(row.name, metric);
    if (row.observe === undefined) continue;
    const rules = byEvent.get(row.observe.type) ?? [];
    rules.push({ rule: row.observe, metric });
    byEvent.set(row.observe.type, rules);
  }
  const requests = byName.get(REQUESTS)!;
  return {
    registry,
    request: (labels) => requests.add(labels, 1),
    observe(event) {
      for (const { rule, metric } of byEvent.get(event.type) ?? []) {
        const sample = rule.sample(event);
        if (sample !== undefined) metric.add(sample[0], sample[1]);
      }
    },
  };
}
