/**
 * What the browser tests share: starting Chromium on the built UI, finding
 * elements by test id, screenshots, and the phone-width check.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { expect } from "vitest";
import { ROOT } from "../harness.js";

/** Where screenshots go (CI keeps the folder as an artifact). */
export const SCREENSHOTS = join(ROOT, "test-output", "screenshots");

/** Debian's Chromium (`apt-get install chromium`), or CHROMIUM_PATH. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Builds the UI if there is no build yet, makes the screenshot folder, and starts headless Chromium. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(join(ROOT, "ui", "build", "index.html"))) {
    // note: `npm test` builds the UI first; a lone `vitest --project browser` may not have.
    execFileSync("npm", ["run", "build", "-w", "@hookly/ui"], { cwd: ROOT, stdio: "inherit" });
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** The element(s) with `data-testid="<id>"` inside `scope`. */
export const byTestId = (scope: Page | Locator, id: string): Locator => scope.locator(`[data-testid="${id}"]`);

/** Saves a full-page screenshot as `<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  // note: scrolled down, a full-page capture paints the sticky header mid-page.
  await page.evaluate("window.scrollTo(0, 0)");
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true, animations: "disabled" });
}

/** At phone width (390 px) nothing makes the page scroll sideways (tables scroll inside their card); saves `<name>-phone`. */
export async function expectFitsPhone(page: Page, name: string): Promise<void> {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
  await screenshot(page, `${name}-phone`);
  if (before) await page.setViewportSize(before);
}
