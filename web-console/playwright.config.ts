// Playwright drives Debian's Chromium (never a downloaded browser) against a
// running `omnibus dev`, which the Rust end-to-end test starts and names in
// OMNIBUS_URL (tests/it/console.rs). Screenshots go to OMNIBUS_SCREENSHOTS.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "e2e",
  timeout: 240_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: process.env.OMNIBUS_PLAYWRIGHT_OUTPUT ?? "test-results",
  use: {
    baseURL: process.env.OMNIBUS_URL,
    headless: true,
    trace: "retain-on-failure",
    actionTimeout: 15_000,
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.OMNIBUS_CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
