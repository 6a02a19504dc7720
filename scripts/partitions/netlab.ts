/**
 * A throwaway network of Linux network namespaces for the partition harness: one namespace per host,
 * each with two links, both veth pairs whose host ends sit in bridges the lab creates.
 *
 *   mesh0  10.77.S.(i+1)/24  the hosts' own network: libp2p runs here, and faults apply here only
 *   ctl0   10.78.S.(i+1)/24  the control network: the harness (host side of the control bridge, 10.78.S.254)
 *                            reaches each node's REST API here, so a cut mesh link never blinds the harness
 *
 * Faults: `isolate` sets the host end of a mesh veth down (the cable is pulled); `block` drops traffic
 * between two groups of hosts with nftables inside their namespaces; `loss` drops a share of a host's mesh
 * packets at random (nftables `numgen random`); `heal` undoes all of it.
 *
 * Every name starts with `chp` and carries the harness's pid (namespaces `chp-<pid>-<host>`, links
 * `chp<pid><kind><n>`), so a later run can tell the leftovers of a dead run (its pid is gone) from those of
 * a run still going. Teardown is synchronous so that it can run from an exit or signal handler.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";

const PREFIX = "chp";
const NS_PATTERN = /^chp-(\d+)-/;
const LINK_PATTERN = /^chp(\d+)[a-z]\d*$/;
const FAULT_TABLE = "chorus_fault";
const API_HOST_OCTET = 254;

/** Runs a command; throws with its stderr when it fails. */
function run(cmd: string, args: readonly string[], input?: string): string {
  const result: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: 30_000,
    ...(input === undefined ? {} : { input }),
  });
  if (result.error) throw new Error(`${cmd} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Runs a command whose failure only means there was nothing to remove. */
function tryRun(cmd: string, args: readonly string[]): void {
  spawnSync(cmd, args, { encoding: "utf8", timeout: 30_000 });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Kills every process inside a namespace (deleting a namespace leaves its processes running). */
function killNamespaceProcesses(ns: string): void {
  const listed = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 10_000 });
  for (const word of (listed.stdout ?? "").split(/\s+/)) {
    const pid = Number(word);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

function listNamespaces(): string[] {
  const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8", timeout: 10_000 }).stdout ?? "";
  return out
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.length > 0);
}

function listLinks(): string[] {
  const out = spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8", timeout: 10_000 }).stdout ?? "";
  return out
    .split("\n")
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? "")
    .filter((name) => name.length > 0);
}

/**
 * Removes what dead harness runs left behind: their namespaces (and the processes in them) and their
 * bridges and veths. Returns the names removed. Runs of a live pid are left alone.
 */
export function removeLeftovers(): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const match = NS_PATTERN.exec(ns);
    if (match === null || alive(Number(match[1]))) continue;
    killNamespaceProcesses(ns);
    tryRun("ip", ["netns", "del", ns]);
    removed.push(ns);
  }
  for (const link of listLinks()) {
    const match = LINK_PATTERN.exec(link);
    if (match === null || alive(Number(match[1]))) continue;
    tryRun("ip", ["link", "del", link]);
    removed.push(link);
  }
  return removed;
}

/**
 * Why network namespaces cannot be used here (undefined when they can): not root, no `ip` or `nft`, or
 * the kernel refuses a namespace. Creates and removes one probe namespace.
 */
export function namespacesUnavailable(): string | undefined {
  if (process.platform !== "linux") return `the platform is ${process.platform}, not linux`;
  if (process.getuid?.() !== 0) return `the harness needs root (uid is ${process.getuid?.()})`;
  for (const tool of ["ip", "nft"]) {
    const found = spawnSync(tool, ["-V"], { encoding: "utf8", timeout: 10_000 });
    if (found.error) return `${tool} is not installed (apt-get install -y iproute2 nftables)`;
  }
  const probe = `${PREFIX}-${process.pid}-probe`;
  const added = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8", timeout: 10_000 });
  if (added.status !== 0) return `ip netns add failed: ${(added.stderr ?? "").trim() || added.error?.message}`;
  try {
    const nft = spawnSync("ip", ["netns", "exec", probe, "nft", "list", "tables"], { encoding: "utf8" });
    if (nft.status !== 0) return `nft does not run in a namespace: ${(nft.stderr ?? "").trim()}`;
  } finally {
    tryRun("ip", ["netns", "del", probe]);
  }
  return undefined;
}

/** A free third octet S: neither 10.77.S.0/24 nor 10.78.S.0/24 appears among the host's addresses and routes. */
function freeSubnet(seed: number): number {
  const used = run("ip", ["-o", "-4", "addr", "show"]) + run("ip", ["-4", "route", "show"]);
  for (let i = 0; i < 254; i++) {
    const s = ((seed + i) % 254) + 1;
    if (!used.includes(`10.77.${s}.`) && !used.includes(`10.78.${s}.`)) return s;
  }
  throw new Error("no free 10.77.S.0/24 and 10.78.S.0/24 subnet on this host");
}

/** Names of this process's lab (the pid must match exactly: chp12 is not chp123's). */
function ownNamespace(name: string): boolean {
  return Number(NS_PATTERN.exec(name)?.[1]) === process.pid;
}

function ownLink(name: string): boolean {
  return Number(LINK_PATTERN.exec(name)?.[1]) === process.pid;
}

export interface LabHost {
  readonly name: string;
  readonly index: number;
  /** The namespace the host's processes run in. */
  readonly ns: string;
  /** Its address on the mesh (libp2p) network. */
  readonly meshAddress: string;
  /** Its address on the control network, where its REST API listens. */
  readonly apiAddress: string;
  /** The host end of its mesh veth, in the root namespace. */
  readonly meshVeth: string;
}

interface FaultState {
  blocked: Set<string>;
  lossPercent: number;
}

export class NetLab {
  readonly hosts: readonly LabHost[];
  private readonly byName = new Map<string, LabHost>();
  private readonly faults = new Map<string, FaultState>();
  private readonly isolated = new Set<string>();
  private readonly meshBridge: string;
  private readonly ctlBridge: string;
  private destroyed = false;

  private constructor(names: readonly string[], subnet: number) {
    const tag = `${PREFIX}${process.pid}`;
    this.meshBridge = `${tag}b`;
    this.ctlBridge = `${tag}a`;
    if (this.meshBridge.length > 15) throw new RangeError(`interface name ${this.meshBridge} is over 15 characters`);
    this.hosts = names.map((name, index) => ({
      name,
      index,
      ns: `${PREFIX}-${process.pid}-${name}`,
      meshAddress: `10.77.${subnet}.${index + 1}`,
      apiAddress: `10.78.${subnet}.${index + 1}`,
      meshVeth: `${tag}m${index}`,
    }));
    for (const h of this.hosts) this.byName.set(h.name, h);
  }

  /** Builds the lab: bridges, one namespace per name with its two links. Tears down what it made if a step fails. */
  static create(names: readonly string[]): NetLab {
    if (names.length === 0 || names.length > 200) throw new RangeError(`a lab has 1 to 200 hosts, got ${names.length}`);
    const bad = names.find((n) => !/^[a-z][a-z0-9]{0,15}$/.test(n));
    if (bad !== undefined) throw new RangeError(`host name ${JSON.stringify(bad)} must match [a-z][a-z0-9]{0,15}`);
    const lab = new NetLab(names, freeSubnet(process.pid));
    try {
      lab.build();
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  private build(): void {
    const subnet = this.hosts[0]!.apiAddress.split(".")[2];
    for (const bridge of [this.meshBridge, this.ctlBridge]) {
      run("ip", ["link", "add", "name", bridge, "type", "bridge"]);
      run("ip", ["link", "set", bridge, "up"]);
    }
    // Only the control bridge has an address on the host: the harness talks to the REST APIs through it.
    run("ip", ["addr", "add", `10.78.${subnet}.${API_HOST_OCTET}/24`, "dev", this.ctlBridge]);
    for (const h of this.hosts) {
      run("ip", ["netns", "add", h.ns]);
      run("ip", ["-n", h.ns, "link", "set", "lo", "up"]);
      const ctlVeth = `${PREFIX}${process.pid}c${h.index}`;
      this.plug(h, h.meshVeth, "mesh0", this.meshBridge, h.meshAddress);
      this.plug(h, ctlVeth, "ctl0", this.ctlBridge, h.apiAddress);
    }
  }

  /** One veth pair: `outer` into `bridge`, `inner` into the host's namespace with `address`/24. */
  private plug(h: LabHost, outer: string, inner: string, bridge: string, address: string): void {
    run("ip", ["link", "add", outer, "type", "veth", "peer", "name", inner, "netns", h.ns]);
    run("ip", ["link", "set", outer, "master", bridge, "up"]);
    run("ip", ["-n", h.ns, "addr", "add", `${address}/24`, "dev", inner]);
    run("ip", ["-n", h.ns, "link", "set", inner, "up"]);
  }

  host(name: string): LabHost {
    const h = this.byName.get(name);
    if (h === undefined)
      throw new RangeError(`no host named ${JSON.stringify(name)}; hosts: ${[...this.byName.keys()]}`);
    return h;
  }

  /** The command line that runs `argv` inside a host's namespace. */
  command(name: string, argv: readonly string[]): string[] {
    return ["ip", "netns", "exec", this.host(name).ns, ...argv];
  }

  /** Pulls a host's mesh cable: its mesh veth goes down, its control link stays up. */
  isolate(name: string): void {
    run("ip", ["link", "set", this.host(name).meshVeth, "down"]);
    this.isolated.add(name);
  }

  /** Drops all traffic between every host of `a` and every host of `b` (both directions). */
  block(a: readonly string[], b: readonly string[]): void {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      for (const name of from) {
        const state = this.faultState(name);
        for (const other of to) state.blocked.add(this.host(other).meshAddress);
        this.applyFaults(name);
      }
    }
  }

  /** Drops `percent` % of a host's mesh packets, each way, at random. */
  loss(name: string, percent: number): void {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw new RangeError(`loss must be an integer percentage 0..100, got ${percent}`);
    }
    this.faultState(name).lossPercent = percent;
    this.applyFaults(name);
  }

  /** Undoes every fault: cables back in, nftables fault tables removed. */
  heal(): void {
    for (const name of this.isolated) run("ip", ["link", "set", this.host(name).meshVeth, "up"]);
    this.isolated.clear();
    for (const name of [...this.faults.keys()]) {
      this.faults.delete(name);
      this.applyFaults(name);
    }
  }

  /** The fault rules now in force in a host's namespace, as nft prints them (for reports and checks). */
  rules(name: string): string {
    const listed = spawnSync("ip", ["netns", "exec", this.host(name).ns, "nft", "list", "table", "inet", FAULT_TABLE], {
      encoding: "utf8",
    });
    return listed.status === 0 ? listed.stdout : "";
  }

  private faultState(name: string): FaultState {
    let state = this.faults.get(name);
    if (state === undefined) {
      state = { blocked: new Set(), lossPercent: 0 };
      this.faults.set(name, state);
    }
    return state;
  }

  /** Replaces the host's fault table atomically (one nft transaction) with what its state says. */
  private applyFaults(name: string): void {
    const state = this.faults.get(name);
    const lines = [`table inet ${FAULT_TABLE}`, `delete table inet ${FAULT_TABLE}`];
    if (state !== undefined && (state.blocked.size > 0 || state.lossPercent > 0)) {
      const chain = (hook: "input" | "output") => {
        const dev = hook === "input" ? "iifname" : "oifname";
        const peer = hook === "input" ? "saddr" : "daddr";
        const rules = [`type filter hook ${hook} priority 0; policy accept;`];
        if (state.blocked.size > 0) rules.push(`${dev} "mesh0" ip ${peer} { ${[...state.blocked].join(", ")} } drop`);
        if (state.lossPercent > 0) rules.push(`${dev} "mesh0" numgen random mod 100 < ${state.lossPercent} drop`);
        return `  chain ${hook} {\n    ${rules.join("\n    ")}\n  }`;
      };
      lines.push(`table inet ${FAULT_TABLE} {`, chain("input"), chain("output"), "}");
    }
    run("ip", ["netns", "exec", this.host(name).ns, "nft", "-f", "-"], `${lines.join("\n")}\n`);
  }

  /** Removes everything the lab made: processes in its namespaces, the namespaces (with their nft tables and veths), the bridges. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const h of this.hosts) {
      killNamespaceProcesses(h.ns);
      tryRun("ip", ["netns", "del", h.ns]);
    }
    // A veth whose namespace end is gone is gone too; these catch one made before its namespace existed.
    for (const link of listLinks().filter(ownLink)) tryRun("ip", ["link", "del", link]);
  }

  /** What of this lab still exists (empty after `destroy`): for the harness's own check. */
  remains(): string[] {
    return [...listNamespaces().filter(ownNamespace), ...listLinks().filter(ownLink)];
  }
}
