import { Command, InvalidArgumentError } from "commander";
import { runDemo } from "./demo.js";

export function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}, got "${value}"`);
    }
    return n;
  };
}

export function fraction(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      throw new InvalidArgumentError(`${name} must be a number in 0..1, got "${value}"`);
    }
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command()
    .name("chorus")
    .description("End-to-end reliability for group chat over lossy pub/sub: gap detection, repair, delivery receipts.")
    .showHelpAfterError();

  program
    .command("demo")
    .description("three members over an in-memory lossy bus, printing deliveries, repairs and receipts")
    .option("--seed <n>", "random seed", integer("--seed", 0, 2 ** 31 - 1), 7)
    .option("--loss <p>", "probability that one copy of a message is lost", fraction("--loss"), 0.25)
    .option("--messages <n>", "messages to send", integer("--messages", 1, 10_000), 12)
    .action((opts: { seed: number; loss: number; messages: number }) => {
      runDemo({ ...opts, out: (line) => process.stdout.write(`${line}\n`) });
    });
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  await buildProgram().parseAsync([...argv]);
}
