/**
 * Stuck queues in the admin UI, in a real browser against a real edge serving ui/build, a real hub
 * and a recording LAN target: an edge that counts a queue as stuck after two failed attempts in a
 * row (STUCK_ALERT_AFTER_ATTEMPTS=2), and retries 5 s apart so the person has time to act. The
 * endpoint page, the endpoints list and the Status page show it, live, and stop once the
 * destination answers 200 and the webhook is delivered. Screenshots go to test-output/screenshots/.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../../apps/hub/src/hub.js";
import { startReceiver, type Receiver } from "../fakes/receiver.js";
import { adminClient, createEndpoint, postWebhook, startHub, waitUntil, type TestEdge } from "../harness.js";
import { byTestId, expectFitsPhone, launchBrowser, screenshot, openPage, startUiEdge } from "./page.js";

/** How long the UI may take to show something the edge already knows. */
const UI_MS = 10_000;
/** First retry delay: the second attempt (and so "stuck") comes 5 s after the first, the third 10 s after that. */
const BACKOFF_INITIAL_MS = 5_000;

let edge: TestEdge;
let hub: Hub;
let target: Receiver;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  target = await startReceiver();
  edge = await startUiEdge({ STUCK_ALERT_AFTER_ATTEMPTS: "2", BACKOFF_INITIAL_MS: String(BACKOFF_INITIAL_MS), BACKOFF_MAX_MS: "60000" });
  hub = await startHub(edge.url);
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await hub?.stop();
  await edge?.close();
  await target?.close();
});

/** A page signed in with the admin token, collecting page errors. */
function signedIn(): Promise<{ page: Page; errors: string[] }> {
  return openPage(browser, edge, contexts, { timeoutMs: UI_MS });
}

describe("stuck queues in the UI", () => {
  it("shows a destination answering 500 as failing, then stuck on its endpoint, the endpoints list and Status; all clear once Retry now delivers", async () => {
    target.respondWith(500);
    const { id: endpointId, ingestUrl } = await createEndpoint(edge.url, `${target.url}/hook`, { name: "nas backup" });
    const { id: calmId } = await createEndpoint(edge.url, `${target.url}/calm`, { name: "calm" });
    const admin = adminClient(edge.url);
    const { page, errors } = await signedIn();

    // The endpoint page is open before the webhook arrives: what follows shows up without a reload.
    await page.goto(`/endpoints/${endpointId}`);
    const row = byTestId(page, "destination-row");
    await row.waitFor();
    await expect.poll(() => byTestId(page, "live-status").getAttribute("data-state"), { timeout: UI_MS }).toBe("live");
    expect(await row.getAttribute("data-failing")).toBe("false");
    const webhookId = await postWebhook(ingestUrl, JSON.stringify({ type: "backup.done" }));

    // One failed attempt: the quieter "Failing" note.
    const failing = byTestId(row, "destination-failing");
    await expect.poll(() => row.getAttribute("data-failing"), { timeout: UI_MS }).toBe("true");
    expect(await row.getAttribute("data-stuck")).toBe("false");
    expect(await failing.getAttribute("data-stuck")).toBe("false");
    expect(await byTestId(failing, "destination-failing-detail").innerText()).toBe("Failing for under a minute, 1 attempt, last HTTP 500; still retried.");
    expect(await byTestId(row, "destination-stuck-badge").count()).toBe(0);

    // The second failed attempt makes it stuck: the badge, the line, and where to act.
    await expect.poll(() => row.getAttribute("data-stuck"), { timeout: BACKOFF_INITIAL_MS + UI_MS }).toBe("true");
    expect(await byTestId(row, "destination-stuck-badge").innerText()).toBe("Stuck");
    expect(await byTestId(row, "destination-failing-detail").innerText()).toMatch(/^failing for (under a minute|1 min), 2 attempts, last HTTP 500$/);
    expect(await byTestId(row, "destination-failing-webhook").getAttribute("href")).toBe(`/webhooks/${webhookId}`);
    expect(await byTestId(row, "destination-failing-pending").getAttribute("href")).toBe(`/webhooks?endpoint=${endpointId}&status=pending`);
    const failure = (await admin.getEndpoint({ id: endpointId })).endpoint!.destinations[0]!.failing;
    expect(failure?.stuckSince).toBeDefined();
    expect(failure?.webhookId).toBe(webhookId);
    await screenshot(page, "endpoint-stuck");
    await expectFitsPhone(page, "endpoint-stuck");

    // The endpoints list marks the endpoint, and only it.
    await byTestId(page, "nav-endpoints").click();
    await page.waitForURL((url) => url.pathname === "/");
    const stuckRow = page.locator(`[data-testid="endpoint-row"][data-endpoint-id="${endpointId}"]`);
    await byTestId(stuckRow, "endpoint-stuck").waitFor();
    expect(await stuckRow.getAttribute("data-stuck")).toBe("true");
    expect(await byTestId(page.locator(`[data-testid="endpoint-row"][data-endpoint-id="${calmId}"]`), "endpoint-stuck").count()).toBe(0);
    await expectFitsPhone(page, "endpoints-stuck");

    // Status: a banner with the stuck destination, its endpoint, how long, the last answer and the links.
    await byTestId(page, "nav-status").click();
    await page.waitForURL("**/status");
    const banner = byTestId(page, "stuck-banner");
    await banner.waitFor();
    const queue = byTestId(banner, "stuck-queue");
    expect(await queue.count()).toBe(1);
    expect(await queue.getAttribute("data-endpoint-id")).toBe(endpointId);
    expect(await byTestId(queue, "stuck-endpoint").innerText()).toBe("nas backup");
    expect(await byTestId(queue, "stuck-destination").innerText()).toBe(`${target.url}/hook`);
    expect(await byTestId(queue, "stuck-detail").innerText()).toMatch(/^failing for (under a minute|1 min), [23] attempts, last HTTP 500$/);
    expect(await byTestId(queue, "stuck-pending").getAttribute("href")).toBe(`/webhooks?endpoint=${endpointId}&status=pending`);
    await screenshot(page, "status-stuck");
    await expectFitsPhone(page, "status-stuck");

    // A second tab stays on Status, to see the banner go without a reload.
    const statusTab = await page.context().newPage();
    statusTab.setDefaultTimeout(UI_MS);
    statusTab.on("pageerror", (err) => errors.push(String(err)));
    await statusTab.goto("/status");
    await byTestId(statusTab, "stuck-banner").waitFor();

    // The destination is fixed; Retry now from the failing webhook's page delivers it.
    await byTestId(queue, "stuck-webhook").click();
    await page.waitForURL(`**/webhooks/${webhookId}`);
    const delivery = byTestId(page, "delivery-row");
    await byTestId(delivery, "delivery-retry-now").click();
    const dialog = byTestId(page, "delivery-action-dialog");
    await dialog.waitFor();
    target.respondWith(200);
    await byTestId(dialog, "confirm").click();
    await dialog.waitFor({ state: "detached" });
    await expect.poll(() => byTestId(delivery, "delivery-status").getAttribute("data-status"), { timeout: UI_MS }).toBe("delivered");
    await waitUntil(async () => (await admin.getEndpoint({ id: endpointId })).endpoint!.destinations[0]!.failing === undefined, UI_MS, "the queue healthy");

    // Everything is clear: the banner went from the open Status tab, the marks from the list and the endpoint page.
    await byTestId(statusTab, "stuck-banner").waitFor({ state: "detached" });
    await page.goto("/");
    await stuckRow.waitFor();
    expect(await stuckRow.getAttribute("data-stuck")).toBe("false");
    expect(await byTestId(stuckRow, "endpoint-stuck").count()).toBe(0);
    await page.goto(`/endpoints/${endpointId}`);
    await row.waitFor();
    expect(await row.getAttribute("data-failing")).toBe("false");
    expect(await byTestId(row, "destination-failing").count()).toBe(0);
    expect(await byTestId(row, "destination-queue-depth").innerText()).toBe("0 pending");
    expect(errors).toEqual([]);
  });
});
