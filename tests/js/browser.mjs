// Headless Debian Chromium driven by playwright-core, for the tests in tests/e2e/test_browser.py.
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// No background traffic: this machine (and a cluster's) may have no internet.
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export async function withPage(run) {
  const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "chromium-")), {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ARGS, headless: true,
  });
  const timer = setTimeout(() => { console.error("timed out"); process.exit(3); }, 60_000);
  try {
    const page = browser.pages()[0] || (await browser.newPage());
    await run(page);
  } finally {
    clearTimeout(timer);
    await browser.close();
  }
}
