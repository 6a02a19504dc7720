import { type RunProgress, runSimulation, type ScenarioInput, type SimResult } from "./run.js";

/**
 * A parameter study: a base scenario, a grid of values (every combination is run), and optional
 * extra runs. Keys of `grid` are scenario option names; `params.<name>` sets an engine parameter,
 * `sds.<name>` an option of the @waku/sds side, `ownerParams.<name>` an owner engine parameter.
 *
 * ```json
 * { "name": "loss", "base": { "messages": 500, "rate": 5 },
 *   "grid": { "members": [10, 100], "loss": [0, 0.1, 0.2], "owner": [true, false],
 *             "params.causalHistorySize": [2, 4] },
 *   "runs": [ { "protocol": "sds", "members": 10, "messages": 200 } ],
 *   "seeds": ["1", "2"] }
 * ```
 */
export interface SweepConfig {
  readonly name?: string;
  readonly base?: ScenarioInput;
  readonly grid?: Readonly<Record<string, readonly unknown[]>>;
  readonly runs?: readonly ScenarioInput[];
  /** Every scenario is run once per seed (default: the base seed, or "1"). */
  readonly seeds?: readonly string[];
}

export interface SweepRun {
  /** The grid values of this run, by grid key, for tables and charts. */
  readonly point: Record<string, unknown>;
  readonly result: SimResult;
}

export interface SweepResult {
  readonly name: string;
  readonly keys: readonly string[];
  readonly runs: readonly SweepRun[];
}

const NESTED = ["params", "ownerParams", "sds"] as const;

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  const dot = key.indexOf(".");
  if (dot < 0) {
    target[key] = value;
    return;
  }
  const head = key.slice(0, dot);
  if (!(NESTED as readonly string[]).includes(head)) {
    throw new RangeError(`sweep key "${key}": only ${NESTED.join(", ")} take a dotted name`);
  }
  const inner = { ...((target[head] as Record<string, unknown> | undefined) ?? {}) };
  inner[key.slice(dot + 1)] = value;
  target[head] = inner;
}

/** Every scenario of a sweep, in a fixed order: grid combinations (last key varies fastest), then `runs`. */
export function expandSweep(config: SweepConfig): { point: Record<string, unknown>; scenario: ScenarioInput }[] {
  if (config === null || typeof config !== "object") throw new TypeError("sweep config must be a JSON object");
  const base = (config.base ?? {}) as Record<string, unknown>;
  const grid = config.grid ?? {};
  const keys = Object.keys(grid);
  for (const k of keys) {
    const values = grid[k];
    if (!Array.isArray(values) || values.length === 0) {
      throw new RangeError(`sweep grid "${k}" must be a non-empty array of values`);
    }
  }
  const points: Record<string, unknown>[] = [];
  if (keys.length > 0) {
    const walk = (i: number, acc: Record<string, unknown>) => {
      if (i === keys.length) {
        points.push({ ...acc });
        return;
      }
      for (const v of grid[keys[i]!]!) walk(i + 1, { ...acc, [keys[i]!]: v });
    };
    walk(0, {});
  } else if ((config.runs ?? []).length === 0) {
    points.push({});
  }
  const seeds = config.seeds ?? [String(base.seed ?? "1")];
  const out: { point: Record<string, unknown>; scenario: ScenarioInput }[] = [];
  const scenarios: { point: Record<string, unknown>; scenario: Record<string, unknown> }[] = [];
  for (const point of points) {
    const scenario: Record<string, unknown> = structuredClone(base);
    for (const [k, v] of Object.entries(point)) setKey(scenario, k, v);
    scenarios.push({ point, scenario });
  }
  for (const [i, run] of (config.runs ?? []).entries()) {
    const scenario: Record<string, unknown> = structuredClone(base);
    for (const [k, v] of Object.entries(run as Record<string, unknown>)) {
      if ((NESTED as readonly string[]).includes(k) && typeof v === "object" && v !== null) {
        scenario[k] = { ...((scenario[k] as object | undefined) ?? {}), ...v };
      } else setKey(scenario, k, v);
    }
    scenarios.push({ point: { run: i, ...(run as Record<string, unknown>) }, scenario });
  }
  for (const s of scenarios) {
    for (const seed of seeds) {
      out.push({
        point: seeds.length > 1 ? { ...s.point, seed } : s.point,
        scenario: { ...s.scenario, seed } as ScenarioInput,
      });
    }
  }
  return out;
}

export interface SweepOptions {
  /** Progress of the whole sweep: runs done plus the share of the current one. */
  readonly onProgress?: (done: number, total: number, label: string, at?: RunProgress) => void;
}

export async function runSweep(config: SweepConfig, options: SweepOptions = {}): Promise<SweepResult> {
  const plan = expandSweep(config);
  const runs: SweepRun[] = [];
  const keys = [...new Set(plan.flatMap((p) => Object.keys(p.point)))];
  for (const [i, item] of plan.entries()) {
    const label = Object.entries(item.point)
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
      .join(" ");
    options.onProgress?.(i, plan.length, label);
    const result = await runSimulation(item.scenario, {
      onProgress: (f, at) => options.onProgress?.(i + f, plan.length, label, at),
    });
    runs.push({ point: item.point, result });
  }
  options.onProgress?.(plan.length, plan.length, "done");
  return { name: config.name ?? "sweep", keys, runs };
}
