/** A measurement that bench/child.ts runs in a process of its own. */
export type Job =
  | {
      kind: "cpu";
      impl: "chorus" | "sds";
      logSize: number;
      warmup: number;
      iterations: number;
      budgetMs?: number;
      /** Chorus: messages timed together as one sample. */
      batch?: number;
      /** Chorus: the ways of signing measured on the one log, in this order (default portable only). */
      cryptos?: readonly ("none" | "native" | "portable")[];
    }
  | { kind: "memory"; impl: "chorus" | "sds"; messages: number }
  | {
      kind: "wire";
      impl: "chorus" | "sds";
      members: number;
      chat: number;
      rate: number;
      tailSeconds: number;
      loss: number;
    }
  | { kind: "decode"; impl: "chorus" | "sds"; pool: number; warmup: number; iterations: number }
  | { kind: "owner"; impl: "chorus"; members: number; messages: number };

export const RESULT_PREFIX = "BENCH-RESULT ";
