/**
 * Storage faults in the admin UI (#15), in a real browser against a real edge serving ui/build:
 * the banner every page shows while storage is degraded, and the storage card on the Status page.
 * Storage is degraded for real: the database is made read-only (`query_only`), so the next
 * webhook fails with SQLITE_READONLY; or the free-space floor is set above what the disk has.
 * Screenshots go to test-output/screenshots/.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../apps/edge/src/config.js";
import { defaultExtensions } from "../../apps/edge/src/extensions.js";
import { TEST_SECRETS, createEndpoint, freePort, startEdge, type TestEdge } from "../harness.js";
import { byTestId, expectFitsPhone, screenshot, launchBrowser } from "./page.js";

/**
 * How long the banner may take to follow the edge: the layout asks every 5 s (storage changes are
 * not announced on WatchEvents) and the storage service probes every second.
 */
const UI_MS = 15_000;

let browser: Browser;
const contexts: BrowserContext[] = [];
const edges: TestEdge[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
});

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => {});
  for (const e of edges.splice(0)) {
    // note: a failed test may leave the database read-only; the edge must be able to close.
    e.app.db.pragma("query_only = OFF");
    await e.close();
  }
});

afterAll(async () => {
  await browser?.close();
});

/** An edge with sign-in (the default extensions) on a temp database file (so free space is known), for one test. */
async function edgeWith(extra: Record<string, string> = {}): Promise<TestEdge> {
  const port = await freePort();
  const env = { PORT: String(port), HOST: "127.0.0.1", BASE_URL: `http://127.0.0.1:${port}`, ...extra };
  const config = loadConfig({ ...TEST_SECRETS, DATABASE_PATH: ":memory:", ...env });
  const edge = await startEdge({ env, port, extensions: await defaultExtensions(config) });
  edges.push(edge);
  return edge;
}

/** A page signed in with the admin token, on the endpoints page, collecting page errors. */
async function signedIn(edge: TestEdge): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ baseURL: edge.url, viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(UI_MS);
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.goto("/signin");
  await byTestId(page, "signin-token").fill(TEST_SECRETS.ADMIN_TOKEN);
  await byTestId(page, "signin-submit").click();
  await page.waitForURL((url) => url.pathname === "/");
  return { page, errors };
}

/** Posts an unsigned webhook; the HTTP status. */
async function post(ingestUrl: string): Promise<number> {
  const res = await fetch(ingestUrl, { method: "POST", body: JSON.stringify({ type: "disk.test" }), headers: { "content-type": "application/json" } });
  await res.arrayBuffer();
  return res.status;
}

/** A size as the UI writes it ("0 MB", "79 GB"). */
const SIZE = String.raw`\d+(\.\d)? (B|KB|MB|GB|TB)`;
/** A local time and its age as the banner writes them ("07:10 (3 min)", "7:10 AM (< 1 min)"). */
const SINCE = String.raw`\d{1,2}:\d{2}(\s?[AP]M)? \((< 1 min|\d+ min)\)`;

describe("storage health in the UI", () => {
  it("shows a banner on every page while the database refuses writes, the fault on Status, and clears both on recovery", async () => {
    const edge = await edgeWith();
    const { ingestUrl } = await createEndpoint(edge.url, "http://127.0.0.1:9/hook", { name: "disk test" });
    const { page, errors } = await signedIn(edge);
    const banner = byTestId(page, "storage-banner");

    // Healthy: the Status page shows the room on the disk and the floor, and there is no banner.
    await byTestId(page, "nav-status").click();
    await page.waitForURL("**/status");
    const card = byTestId(page, "storage-card");
    await expect.poll(() => card.getAttribute("data-healthy"), { timeout: UI_MS }).toBe("true");
    expect(await byTestId(card, "storage-free").innerText()).toMatch(new RegExp(`^${SIZE} free of ${SIZE}$`));
    expect(await byTestId(card, "storage-floor").innerText()).toBe("ingest refused below 64 MB");
    expect(await byTestId(card, "storage-state").innerText()).toContain("Healthy");
    expect(await banner.count()).toBe(0);

    // The database turns read-only: the next webhook is refused and storage is degraded.
    edge.app.db.pragma("query_only = ON");
    expect(await post(ingestUrl)).toBe(503);
    expect(edge.app.storage.status().healthy).toBe(false);
    expect(edge.app.storage.status().summary).toMatch(/^storage refuses writes \(SQLITE_READONLY\): \d+(\.\d)? [MG]B free; ingest refused since /);

    // The banner appears without a reload, with the edge's summary and a local time for "since".
    await banner.waitFor({ timeout: UI_MS });
    expect(await banner.getAttribute("role")).toBe("alert");
    const text = await byTestId(banner, "storage-banner-text").innerText();
    // The edge's summary, capitalised, sizes and times for people.
    expect(text).toMatch(new RegExp(String.raw`^Storage refuses writes \(SQLITE_READONLY\): ${SIZE} free; ingest refused since ${SINCE}$`));
    expect(await banner.innerText()).toContain("New webhooks are refused with 503");

    // The Status page: degraded, the ingest fault with its code, and ingest refused.
    await expect.poll(() => card.getAttribute("data-healthy"), { timeout: UI_MS }).toBe("false");
    expect(await byTestId(card, "storage-state").innerText()).toContain("Degraded");
    const fault = card.locator('[data-testid="storage-fault"][data-area="ingest"]');
    await fault.waitFor();
    expect(await fault.innerText()).toContain("SQLITE_READONLY");
    expect(await byTestId(card, "storage-ingest").innerText()).toContain("Refused");
    expect(await byTestId(card, "storage-free").innerText()).toMatch(/free of/);
    await screenshot(page, "storage-degraded-status");
    await expectFitsPhone(page, "storage-degraded-status");

    // Every page has it: the webhooks page too.
    await byTestId(page, "nav-webhooks").click();
    await page.waitForURL("**/webhooks");
    await banner.waitFor();
    await screenshot(page, "storage-degraded-webhooks");
    await expectFitsPhone(page, "storage-degraded-webhooks");

    // The database takes writes again: the probe clears the fault, the banner goes, webhooks are admitted.
    edge.app.db.pragma("query_only = OFF");
    await banner.waitFor({ state: "detached", timeout: UI_MS });
    expect(edge.app.storage.status().healthy).toBe(true);
    expect(await post(ingestUrl)).toBe(202);
    await byTestId(page, "nav-status").click();
    await page.waitForURL("**/status");
    await expect.poll(() => card.getAttribute("data-healthy"), { timeout: UI_MS }).toBe("true");
    expect(await byTestId(card, "storage-faults").count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("shows storage low from the start when free space is under MIN_FREE_DISK_MB", async () => {
    // note: 1 PB (the most MIN_FREE_DISK_MB allows) is more than a test machine's disk has free.
    const edge = await edgeWith({ MIN_FREE_DISK_MB: "1073741824" });
    expect(edge.app.storage.status().summary ?? "").toMatch(/^storage low: /);
    const { page, errors } = await signedIn(edge);

    const banner = byTestId(page, "storage-banner");
    await banner.waitFor();
    expect(await byTestId(banner, "storage-banner-text").innerText()).toMatch(new RegExp(`^Storage low: ${SIZE} free; ingest refused since ${SINCE}$`));

    await byTestId(page, "nav-status").click();
    await page.waitForURL("**/status");
    const card = byTestId(page, "storage-card");
    await expect.poll(() => card.getAttribute("data-healthy"), { timeout: UI_MS }).toBe("false");
    expect(await byTestId(card, "storage-floor").innerText()).toBe("ingest refused below 1024 TB");
    expect(await byTestId(card, "storage-ingest").innerText()).toMatch(/Refused: storage low/);
    // Low space alone faults no write path: there is no faults table.
    expect(await byTestId(card, "storage-faults").count()).toBe(0);
    await screenshot(page, "storage-low-status");
    expect(errors).toEqual([]);
  });
});
