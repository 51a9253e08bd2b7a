/**
 * A real headless Chromium for the console's browser tests: Debian's `chromium` (apt),
 * driven by playwright-core through `executablePath` — playwright's own browser download
 * needs the internet. `.ci/run` installs the package; CHROMIUM_PATH points elsewhere.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** Where the browser tests leave their screenshots (git-ignored), to look at after a run. */
export const SCREENSHOT_DIR = fileURLToPath(new URL("../../test-output/screenshots/", import.meta.url));

export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH || CANDIDATES.find((p) => existsSync(p));
  if (!path) {
    throw new Error(
      "no Chromium for the browser tests: apt-get install -y chromium (what .ci/run does), or set CHROMIUM_PATH",
    );
  }
  return path;
}

export async function launchBrowser(): Promise<Browser> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: chromiumPath(),
    // CI runs as root, where Chromium's sandbox can't start; the page is our own.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}
