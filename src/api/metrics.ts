import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { NodeEvent } from "../node/channel.js";
import type { ChorusNode } from "../node/node.js";

/** The Prometheus metrics of one API instance, in a registry of its own (two nodes in one process do not mix). */
export interface ApiMetrics {
  readonly registry: Registry;
  readonly sseClients: Gauge;
  readonly requests: Counter<"method" | "route" | "status">;
  observe(event: NodeEvent): void;
}

export function createMetrics(node: ChorusNode, options: { readonly processMetrics: boolean }): ApiMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ role: node.role });
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: "chorus_process_" });
  const byChannel = ["channel"] as const;
  const sent = new Counter({
    name: "chorus_messages_sent_total",
    help: "Own messages sent (stored and published).",
    labelNames: byChannel,
    registers: [registry],
  });
  const delivered = new Counter({
    name: "chorus_messages_delivered_total",
    help: "Messages of other senders delivered, in causal order.",
    labelNames: byChannel,
    registers: [registry],
  });
  const ephemeral = new Counter({
    name: "chorus_ephemeral_received_total",
    help: "Ephemeral messages received.",
    labelNames: byChannel,
    registers: [registry],
  });
  const gaps = new Counter({
    name: "chorus_gaps_detected_total",
    help: "Messages detected missing, by how the gap was noticed.",
    labelNames: ["channel", "source"] as const,
    registers: [registry],
  });
  const repairs = new Counter({
    name: "chorus_repairs_total",
    help: "Missing messages that arrived after all.",
    labelNames: byChannel,
    registers: [registry],
  });
  const repairSeconds = new Histogram({
    name: "chorus_repair_seconds",
    help: "Time from detecting a gap to repairing it.",
    labelNames: byChannel,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const losses = new Counter({
    name: "chorus_messages_lost_total",
    help: "Missing messages given up on (their dependents were delivered without them).",
    labelNames: byChannel,
    registers: [registry],
  });
  const acks = new Counter({
    name: "chorus_acks_total",
    help: "Receipts learnt for own messages (one per member and message).",
    labelNames: byChannel,
    registers: [registry],
  });
  const rejected = new Counter({
    name: "chorus_messages_rejected_total",
    help: "Incoming messages refused (bad signature, wrong id, too far in the future, ...).",
    labelNames: byChannel,
    registers: [registry],
  });
  const sseClients = new Gauge({
    name: "chorus_sse_clients",
    help: "Open server-sent event streams.",
    registers: [registry],
  });
  const requests = new Counter({
    name: "chorus_api_requests_total",
    help: "REST API requests answered.",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });

  // The node keeps its catch-up reports; these counters follow that list at scrape time.
  let catchUpsSeen = 0;
  const followCatchUps = () => {
    for (; catchUpsSeen < node.catchUps.length; catchUpsSeen++) {
      const report = node.catchUps[catchUpsSeen]!;
      catchUps.inc();
      catchUpRoundTrips.inc(report.roundTrips);
      catchUpMessages.inc(report.messages);
    }
  };
  const catchUps: Counter = new Counter({
    name: "chorus_catchups_total",
    help: "Catch-ups from the owner's history service.",
    registers: [registry],
    collect: followCatchUps,
  });
  const catchUpRoundTrips: Counter = new Counter({
    name: "chorus_catchup_round_trips_total",
    help: "Round trips to the owner's history service during catch-ups.",
    registers: [registry],
    collect: followCatchUps,
  });
  const catchUpMessages: Counter = new Counter({
    name: "chorus_catchup_messages_total",
    help: "Messages received during catch-ups.",
    registers: [registry],
    collect: followCatchUps,
  });

  new Gauge({
    name: "chorus_missing_messages",
    help: "Messages known to be missing right now.",
    labelNames: byChannel,
    registers: [registry],
    collect() {
      this.reset();
      for (const id of node.listChannels()) this.set({ channel: id }, node.channel(id).engine.missingRefs().length);
    },
  });
  new Gauge({
    name: "chorus_known_members",
    help: "Members heard from, other than this node.",
    labelNames: byChannel,
    registers: [registry],
    collect() {
      this.reset();
      for (const id of node.listChannels()) this.set({ channel: id }, node.channel(id).engine.knownMembers());
    },
  });
  new Gauge({
    name: "chorus_delivered_log_length",
    help: "Length of the delivered log.",
    labelNames: byChannel,
    registers: [registry],
    collect() {
      this.reset();
      for (const id of node.listChannels()) this.set({ channel: id }, node.countDelivered(id));
    },
  });
  new Gauge({
    name: "chorus_peers",
    help: "Connected transport peers.",
    registers: [registry],
    collect() {
      this.set(node.transport.peers().length);
    },
  });

  const observe = (event: NodeEvent) => {
    const channel = { channel: event.channelId };
    switch (event.type) {
      case "delivered":
        (event.message.own ? sent : delivered).inc(channel);
        break;
      case "ephemeral":
        ephemeral.inc(channel);
        break;
      case "missing":
        gaps.inc({ channel: event.channelId, source: event.source });
        break;
      case "repaired":
        repairs.inc(channel);
        repairSeconds.observe(channel, event.afterMs / 1000);
        break;
      case "lost":
        losses.inc(channel);
        break;
      case "acknowledged":
        acks.inc(channel);
        break;
      case "rejected":
        rejected.inc(channel);
        break;
    }
  };
  return { registry, sseClients, requests, observe };
}
