import { Command } from "commander";
import { runDemo } from "./demo.js";
import { registerNodeCommand } from "./node-command.js";
import { fraction, integer } from "./options.js";
import { registerSimCommand } from "./sim-command.js";
import { registerUpCommand } from "./up-command.js";

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
  registerNodeCommand(program);
  registerUpCommand(program);
  registerSimCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  await buildProgram().parseAsync([...argv]);
}
