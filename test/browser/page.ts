/**
 * What the browser tests share: an edge as a browser meets it, starting
 * Chromium on the built UI, signed-in pages, finding elements by test id,
 * screenshots, and the phone-width check.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from "playwright-core";
import { expect } from "vitest";
import { loadConfig } from "../../apps/edge/src/config.js";
import { defaultExtensions } from "../../apps/edge/src/extensions.js";
import { ROOT, TEST_SECRETS, freePort, startEdge, type TestEdge } from "../harness.js";

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

/**
 * An edge with the default extensions (sign-in, MCP, …) on a free port, its BASE_URL where it listens
 * (sign-in and ingest URLs are built from it); `env` adds to or overrides its configuration.
 */
export async function startUiEdge(env: Record<string, string> = {}): Promise<TestEdge> {
  const port = await freePort();
  const all = { PORT: String(port), HOST: "127.0.0.1", BASE_URL: `http://127.0.0.1:${port}`, ...env };
  const config = loadConfig({ ...TEST_SECRETS, DATABASE_PATH: ":memory:", ...all });
  return startEdge({ env: all, port, extensions: await defaultExtensions(config) });
}

/** Signs `page` in with the admin token, from /signin until it lands on the endpoints list. */
export async function signInAsAdmin(page: Page): Promise<void> {
  await page.goto("/signin");
  await byTestId(page, "signin-token").fill(TEST_SECRETS.ADMIN_TOKEN);
  await byTestId(page, "signin-submit").click();
  await page.waitForURL((url) => url.pathname === "/");
}

/**
 * A page in a context of its own on `edge` (pushed onto `contexts` for the caller to close), collecting
 * uncaught page errors; signed in as the admin unless `signedIn` is false; desktop-sized unless told.
 */
export async function openPage(
  browser: Browser,
  edge: Pick<TestEdge, "url">,
  contexts: BrowserContext[],
  opts: { signedIn?: boolean; context?: BrowserContextOptions; timeoutMs?: number; prepare?: (c: BrowserContext) => Promise<void> } = {},
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ baseURL: edge.url, viewport: { width: 1280, height: 800 }, ...opts.context });
  contexts.push(context);
  await opts.prepare?.(context);
  const page = await context.newPage();
  page.setDefaultTimeout(opts.timeoutMs ?? 10_000);
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  if (opts.signedIn !== false) await signInAsAdmin(page);
  return { page, errors };
}
