/**
 * The webhook list's search, destination filter, count and NDJSON export, in a real browser against
 * a real edge serving ui/build, a real hub and two recording LAN targets (one refuses with 400, so
 * its webhook fails and shows its last error). Three webhooks with a word of their own each; what
 * the page shows is compared with what the edge stores. Screenshots go to test-output/screenshots/.
 */
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../../apps/hub/src/hub.js";
import { startReceiver, type Receiver } from "../fakes/receiver.js";
import { adminClient, createEndpoint, postWebhook, startHub, waitUntil, type TestEdge } from "../harness.js";
import { byTestId, expectFitsPhone, launchBrowser, screenshot, openPage, startUiEdge } from "./page.js";

/** How long the UI may take to show something the edge already knows. */
const UI_MS = 10_000;

let edge: TestEdge;
let hub: Hub;
let shopTarget: Receiver;
let crmTarget: Receiver;
let browser: Browser;
const contexts: BrowserContext[] = [];

/** The three webhooks, by the word only their payload has. */
const ids = { avocado: "", blueberry: "", cherry: "" };
let crmDestinationId = "";

beforeAll(async () => {
  shopTarget = await startReceiver();
  crmTarget = await startReceiver();
  crmTarget.respondWith(400);
  edge = await startUiEdge();
  hub = await startHub(edge.url);
  browser = await launchBrowser();

  const admin = adminClient(edge.url);
  const shop = await createEndpoint(edge.url, `${shopTarget.url}/shop`, { name: "shop" });
  const crm = await createEndpoint(edge.url, `${crmTarget.url}/crm`, { name: "crm" });
  crmDestinationId = (await admin.getEndpoint({ id: crm.id })).endpoint!.destinations[0]!.id;
  ids.avocado = await postWebhook(shop.ingestUrl, JSON.stringify({ type: "order.paid", note: "avocado toast" }));
  ids.blueberry = await postWebhook(shop.ingestUrl, JSON.stringify({ type: "order.paid", note: "blueberry muffin" }));
  ids.cherry = await postWebhook(crm.ingestUrl, JSON.stringify({ type: "contact.created", note: "cherry pie" }));
  // Settled (two delivered, one refused) and searchable, so the list no longer changes under the test.
  await waitUntil(async () => (await admin.getWebhook({ id: ids.cherry })).webhook!.errorMessage, UI_MS, "the crm webhook's failure");
  await shopTarget.waitFor(2);
  for (const word of Object.keys(ids)) {
    await waitUntil(async () => (await admin.listWebhooks({ search: word })).webhooks.length === 1, UI_MS, `"${word}" searchable`);
  }
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await hub?.stop();
  await edge?.close();
  await shopTarget?.close();
  await crmTarget?.close();
});

/** A page signed in with the admin token, collecting page errors. */
function signedIn(): Promise<{ page: Page; errors: string[] }> {
  return openPage(browser, edge, contexts, { timeoutMs: UI_MS });
}

/** The ids of the rows the list shows, sorted. */
const rowIds = (page: Page): Promise<string[]> =>
  byTestId(page, "webhook-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-webhook-id") ?? "").sort());

/** The list's count line, once it says `text`. */
const expectTotal = (page: Page, text: string) => expect.poll(() => byTestId(page, "webhook-total").innerText(), { timeout: UI_MS }).toBe(text);

/** Downloads what the export link points at; the lines as JSON. */
async function download(page: Page, link: Locator): Promise<Record<string, unknown>[]> {
  const [file] = await Promise.all([page.waitForEvent("download"), link.click()]);
  expect(file.suggestedFilename()).toMatch(/^hookly-webhooks-.*\.ndjson$/);
  const text = readFileSync(await file.path()).toString();
  expect(text.endsWith("\n")).toBe(true);
  return text
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The list searched for "blueberry" by typing it into the search box. */
async function searchBlueberry(page: Page): Promise<void> {
  await page.goto("/webhooks");
  await expectTotal(page, "3 webhooks");
  await byTestId(page, "filter-search").fill("blueberry");
  await page.waitForURL((url) => url.searchParams.get("q") === "blueberry");
  await expect.poll(() => rowIds(page), { timeout: UI_MS }).toEqual([ids.blueberry]);
}

describe("the webhook list", () => {
  it("shows every webhook with its event type and last error, and counts them", async () => {
    const { page, errors } = await signedIn();
    await page.goto("/webhooks");
    await expect.poll(() => rowIds(page), { timeout: UI_MS }).toEqual(Object.values(ids).sort());
    await expectTotal(page, "3 webhooks");
    const cherry = page.locator(`[data-testid="webhook-row"][data-webhook-id="${ids.cherry}"]`);
    expect((await byTestId(cherry, "event-type").innerText()).trim()).toBe("contact.created");
    const { webhook } = await adminClient(edge.url).getWebhook({ id: ids.cherry });
    const error = byTestId(cherry, "last-error").locator("[title]");
    expect(await error.getAttribute("title")).toBe(webhook!.errorMessage);
    expect(webhook!.errorMessage).toContain("400");
    // Key columns first: the id, the state and when it arrived.
    const heads = await page.locator('[data-testid="webhooks-table"] thead th').allInnerTexts();
    expect(heads.slice(1, 4).map((h) => h.trim())).toEqual(["ID", "Status", "Received"]);
    await screenshot(page, "webhook-list");
    expect(errors).toEqual([]);
  });

  it("searching one word shows only that webhook, counted as 1, and keeps the search in the URL", async () => {
    const { page, errors } = await signedIn();
    await searchBlueberry(page);
    await expectTotal(page, "1 webhook");
    // A reload (or a shared link) shows the same search.
    await page.reload();
    expect(await byTestId(page, "filter-search").inputValue()).toBe("blueberry");
    await expect.poll(() => rowIds(page), { timeout: UI_MS }).toEqual([ids.blueberry]);
    await expectTotal(page, "1 webhook");
    // Words are all required; a quoted phrase stays together.
    await byTestId(page, "filter-search").fill('"blueberry muffin" order.paid');
    await expect.poll(() => rowIds(page), { timeout: UI_MS }).toEqual([ids.blueberry]);
    await byTestId(page, "filter-search").fill('"muffin blueberry"');
    await byTestId(page, "webhooks-empty").waitFor();
    await byTestId(page, "filter-search").fill("");
    await page.waitForURL((url) => !url.searchParams.has("q"));
    await expectTotal(page, "3 webhooks");
    expect(errors).toEqual([]);
  });

  it("exports exactly the searched webhooks as NDJSON, with their payloads when asked", async () => {
    const { page, errors } = await signedIn();
    await searchBlueberry(page);
    const link = byTestId(page, "export-ndjson");
    const plain = await download(page, link);
    expect(plain.map((w) => w.id)).toEqual([ids.blueberry]);
    expect(plain[0]).not.toHaveProperty("payload_text");

    await byTestId(page, "export-payloads").check();
    await expect.poll(() => link.getAttribute("href")).toContain("payload=true");
    const full = await download(page, link);
    expect(full.map((w) => w.id)).toEqual([ids.blueberry]);
    expect(JSON.parse(full[0]!.payload_text as string)).toEqual({ type: "order.paid", note: "blueberry muffin" });
    expect(errors).toEqual([]);
  });

  it("narrows to one destination's webhooks, kept in the URL", async () => {
    const { page, errors } = await signedIn();
    await page.goto("/webhooks");
    await expectTotal(page, "3 webhooks");
    await byTestId(page, "filter-destination").click();
    await byTestId(page, "filter-destination-option").filter({ hasText: "crm ›" }).click();
    await page.waitForURL((url) => url.searchParams.get("destination") === crmDestinationId);
    await expect.poll(() => rowIds(page), { timeout: UI_MS }).toEqual([ids.cherry]);
    await expectTotal(page, "1 webhook");
    const exported = await download(page, byTestId(page, "export-ndjson"));
    expect(exported.map((w) => w.id)).toEqual([ids.cherry]);
    expect(errors).toEqual([]);
  });

  it("has no horizontal overflow at 390 px: the table scrolls in its own box", async () => {
    const { page, errors } = await signedIn();
    await page.goto("/webhooks");
    await expect.poll(() => byTestId(page, "webhook-row").count(), { timeout: UI_MS }).toBe(3);
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate<boolean>("document.documentElement.scrollWidth <= innerWidth")).toBe(true);
    const box = page.locator('[data-testid="webhooks-table"]').locator("xpath=..");
    // note: through the element's own window: the tests are type-checked without the DOM's globals.
    expect(await box.evaluate((el) => el.scrollWidth > el.clientWidth && el.ownerDocument.defaultView!.getComputedStyle(el).overflowX === "auto")).toBe(true);
    // The id, state and arrival are in view without scrolling the table.
    const visible = await box.boundingBox();
    const first = byTestId(page, "webhook-row").first();
    for (const id of ["webhook-id-link", "status-badge", "webhook-link"]) {
      const rect = await byTestId(first, id).boundingBox();
      expect(rect!.x + rect!.width, id).toBeLessThanOrEqual(visible!.x + visible!.width);
    }
    await expectFitsPhone(page, "webhook-list");
    expect(errors).toEqual([]);
  });

  it("shows a webhook that arrives while searching once the edge has indexed it", async () => {
    const { page, errors } = await signedIn();
    await searchBlueberry(page);
    await expect.poll(() => byTestId(page, "live-status").getAttribute("data-state"), { timeout: UI_MS }).toBe("live");
    const { ingestUrl } = await createEndpoint(edge.url, `${shopTarget.url}/late`, { name: "late" });
    const lateId = await postWebhook(ingestUrl, JSON.stringify({ type: "order.paid", note: "blueberry pancake" }));
    await expect.poll(() => rowIds(page), { timeout: UI_MS }).toEqual([ids.blueberry, lateId].sort());
    await expectTotal(page, "2 webhooks");
    expect(errors).toEqual([]);
  });
});
