// The conformance runner (spec Appendix B): replays spec/vectors/scenarios.json through any implementation that
// speaks the driver protocol, one JSON request per line on the driver's stdin and one JSON response per line on
// its stdout, and compares what it publishes, reports and ends with against the traces.
//
//   npx tsx scripts/conformance.ts [--scenario <name>] [--vectors <file>] -- <driver command and arguments>
//   npx tsx scripts/conformance.ts -- node --import tsx scripts/conformance-driver.ts     (the reference)
//
// Exit status 0 when every scenario passes, 1 otherwise; one line per scenario, and the first difference of each
// failing one. The driver returns its messages as bytes: the runner decodes them with the reference decoder, so an
// implementation needs no normal form of its own for messages (it does for events, Appendix A.3).
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { decodeMessage } from "../src/wire/index.js";
import { normalMessage } from "./vector-scenarios.js";

interface Scenario {
  name: string;
  channelId: string;
  params: Record<string, unknown>;
  members: {
    name: string;
    secretKey: string;
    senderId: string;
    joinedAt: number;
    seed: number;
    preferredResponders: string[];
    params: Record<string, unknown>;
    memberList?: string[];
  }[];
  messages: Record<string, { from: string; hex: string }>;
  steps: {
    at: number;
    member: string;
    action: "send" | "send-ephemeral" | "receive" | "tick" | "owner-path";
    content?: string;
    message?: string;
    up?: boolean;
    draws?: Record<string, unknown>[];
    outgoing: { label: string; purpose: string; fields: Record<string, unknown> }[];
    events: Record<string, unknown>[];
  }[];
  expect: Record<string, { delivered: string[]; log: string[]; missing: unknown[]; receipts: Record<string, unknown> }>;
}

interface StepResponse {
  outgoing: { purpose: string; bytes: string }[];
  events: Record<string, unknown>[];
  error?: string;
}

export interface ScenarioResult {
  readonly name: string;
  readonly ok: boolean;
  readonly difference?: string;
}

/** One request, one response line: a driver answers in order. */
class Driver {
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];
  private exited: string | undefined;

  constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on("line", (line) => this.pending.shift()?.(line));
    child.on("exit", (code) => {
      this.exited = `driver exited with status ${code}`;
      for (const wake of this.pending.splice(0)) wake(JSON.stringify({ error: this.exited }));
    });
  }

  call(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited !== undefined) return Promise.resolve({ error: this.exited });
    return new Promise((resolve) => {
      this.pending.push((line) => {
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
        } catch {
          resolve({ error: `driver wrote a line that is not JSON: ${line.slice(0, 200)}` });
        }
      });
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
    this.lines.close();
  }
}

const withoutReason = (e: Record<string, unknown>) => {
  const { reason: _reason, ...rest } = e;
  return rest;
};
const sortedJson = (items: readonly unknown[]) => items.map((x) => JSON.stringify(x)).sort();
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const show = (value: unknown) => JSON.stringify(value).slice(0, 600);

class Difference extends Error {}
function expectSame(what: string, got: unknown, want: unknown): void {
  if (!same(got, want)) throw new Difference(`${what}: expected ${show(want)}, got ${show(got)}`);
}

function outgoingOf(got: StepResponse) {
  return got.outgoing.map((o) => {
    let fields: unknown;
    try {
      fields = normalMessage(decodeMessage(Uint8Array.from(Buffer.from(o.bytes, "hex"))));
    } catch (err) {
      fields = { undecodable: (err as Error).message };
    }
    return { purpose: o.purpose, fields };
  });
}

async function runSteps(s: Scenario, driver: Driver, delivered: Map<string, string[]>): Promise<void> {
  for (const [i, step] of s.steps.entries()) {
    const where = `step ${i} (${step.member} ${step.action}${step.message ? ` ${step.message}` : ""} at ${step.at})`;
    const request: Record<string, unknown> = { op: step.action, member: step.member, at: step.at };
    if (step.content !== undefined) request.content = step.content;
    if (step.message !== undefined) request.bytes = s.messages[step.message]!.hex;
    if (step.up !== undefined) request.up = step.up;
    if (step.draws !== undefined) request.draws = step.draws;
    const got = (await driver.call(request)) as unknown as StepResponse;
    if (got.error !== undefined) throw new Difference(`${where}: the driver failed: ${got.error}`);
    if (!Array.isArray(got.outgoing) || !Array.isArray(got.events)) {
      throw new Difference(`${where}: the response needs "outgoing" and "events" arrays, got ${show(got)}`);
    }
    expectSame(
      `${where}: outgoing`,
      outgoingOf(got),
      step.outgoing.map((o) => ({ purpose: o.purpose, fields: o.fields })),
    );
    const events = got.events.map(withoutReason);
    const want = step.events.map(withoutReason);
    const deliveries = (list: Record<string, unknown>[]) => list.filter((e) => e.type === "delivered");
    expectSame(`${where}: deliveries in order`, deliveries(events), deliveries(want));
    expectSame(`${where}: events (as a multiset)`, sortedJson(events), sortedJson(want));
    for (const e of events) if (e.type === "delivered") delivered.get(step.member)!.push(String(e.messageId));
  }
}

async function runScenario(s: Scenario, driver: Driver): Promise<void> {
  const senderOf = new Map(s.members.map((m) => [m.name, m.senderId]));
  const reset = await driver.call({ op: "reset" });
  if (reset.error !== undefined) throw new Difference(`reset: ${reset.error}`);
  for (const m of s.members) {
    const created = await driver.call({
      op: "create",
      member: m.name,
      channelId: s.channelId,
      secretKey: m.secretKey,
      joinedAt: m.joinedAt,
      seed: m.seed,
      params: { ...s.params, ...m.params },
      preferredResponders: m.preferredResponders.map((p) => senderOf.get(p)),
      memberList: m.memberList === undefined ? null : m.memberList.map((n) => senderOf.get(n)),
    });
    if (created.error !== undefined) throw new Difference(`create ${m.name}: ${created.error}`);
  }
  const delivered = new Map(s.members.map((m) => [m.name, [] as string[]]));
  await runSteps(s, driver, delivered);
  const labelOf = new Map<string, string>();
  for (const step of s.steps) {
    for (const o of step.outgoing) if (o.fields.kind === "content") labelOf.set(String(o.fields.messageId), o.label);
  }
  for (const m of s.members) {
    const want = s.expect[m.name]!;
    expectSame(`${m.name}'s delivery order`, delivered.get(m.name), want.delivered);
    const state = await driver.call({ op: "state", member: m.name, messageIds: [...labelOf.keys()] });
    if (state.error !== undefined) throw new Difference(`state of ${m.name}: ${state.error}`);
    if (!Array.isArray(state.log) || !Array.isArray(state.missing) || typeof state.receipts !== "object") {
      throw new Difference(`state of ${m.name}: needs "log", "missing" and "receipts", got ${show(state)}`);
    }
    expectSame(`${m.name}'s log`, state.log, want.log);
    expectSame(`${m.name}'s missing refs`, sortedJson(state.missing as unknown[]), sortedJson(want.missing));
    const receipts: Record<string, unknown> = {};
    for (const [id, r] of Object.entries(state.receipts as Record<string, unknown>))
      receipts[labelOf.get(id) ?? id] = r;
    expectSame(`${m.name}'s receipts`, receipts, want.receipts);
  }
}

/** Runs the scenarios through a driver started with `command`; `only` names one scenario. */
export async function runConformance(
  command: readonly string[],
  options: { vectors?: string; only?: string } = {},
): Promise<ScenarioResult[]> {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const file = options.vectors ?? join(root, "spec", "vectors", "scenarios.json");
  const scenarios = (JSON.parse(readFileSync(file, "utf8")) as { vectors: Scenario[] }).vectors.filter(
    (s) => options.only === undefined || s.name === options.only,
  );
  const child = spawn(command[0]!, command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const driver = new Driver(child);
  const results: ScenarioResult[] = [];
  try {
    for (const s of scenarios) {
      try {
        await runScenario(s, driver);
        results.push({ name: s.name, ok: true });
      } catch (err) {
        if (!(err instanceof Difference)) throw err;
        results.push({ name: s.name, ok: false, difference: err.message });
      }
    }
  } finally {
    driver.close();
  }
  return results;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const split = args.indexOf("--");
  const command = split >= 0 ? args.slice(split + 1) : [];
  const own = split >= 0 ? args.slice(0, split) : args;
  if (command.length === 0) {
    console.error("usage: conformance.ts [--scenario <name>] [--vectors <file>] -- <driver command>");
    process.exit(2);
  }
  const flag = (name: string) => (own.includes(name) ? own[own.indexOf(name) + 1] : undefined);
  const results = await runConformance(command, { vectors: flag("--vectors"), only: flag("--scenario") });
  for (const r of results) console.log(r.ok ? `ok    ${r.name}` : `FAIL  ${r.name}\n      ${r.difference}`);
  const passed = results.filter((r) => r.ok).length;
  console.log(`${passed} of ${results.length} scenarios pass`);
  process.exit(passed === results.length && results.length > 0 ? 0 : 1);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
