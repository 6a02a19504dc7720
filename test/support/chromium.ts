// Headless Chromium for the tests that look at pages (the web UI, the simulator's report, the browser member):
// Debian's chromium driven by playwright-core (browsers cannot be downloaded here), and the folder the
// screenshots go to.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";

/** Where tests leave their screenshots, for a person to look at. */
export const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** The path of screenshot `name` in ARTIFACTS, the folder made if need be. */
export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
