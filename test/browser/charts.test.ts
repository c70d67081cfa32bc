/**
 * The delivery charts and the truthful top bar, in a real browser against a real edge serving
 * ui/build, a real hub and a recording LAN target that answers 400 on /fail (a failed delivery)
 * and 200 elsewhere. Status shows the totals and the charts of what the edge counted, with a
 * range switch kept in the URL; the endpoints list shows each endpoint's 24 h sparkline and
 * success rate; the banners say when the edge cannot be reached or a hub is offline, and the hub
 * badge stops claiming "connected" meanwhile. Screenshots go to test-output/screenshots/.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../../apps/hub/src/hub.js";
import { startReceiver, type Receiver } from "../fakes/receiver.js";
import { adminClient, createEndpoint, postWebhook, startHub, waitUntil, type TestEdge } from "../harness.js";
import { byTestId, expectFitsPhone, launchBrowser, screenshot, openPage, startUiEdge } from "./page.js";

/** How long the UI may take to show something the edge already knows. */
const UI_MS = 10_000;
/** The layout polls GetStatus every 5 s: a banner may take one poll more than that. */
const POLL_WAIT_MS = 5_000 + UI_MS;
/** Where the status poll goes. */
const GET_STATUS = "**/hookly.v1.AdminService/GetStatus";

let edge: TestEdge;
let hub: Hub | undefined;
let target: Receiver;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Endpoint that delivers (200) and one whose destination refuses (400). */
let okEndpoint: { id: string; ingestUrl: string };
let failEndpoint: { id: string; ingestUrl: string };

beforeAll(async () => {
  target = await startReceiver();
  target.respondWith((req) => (req.url.startsWith("/fail") ? 400 : 200));
  edge = await startUiEdge();
  hub = await startHub(edge.url);
  browser = await launchBrowser();
  okEndpoint = await createEndpoint(edge.url, `${target.url}/ok`, { name: "billing" });
  failEndpoint = await createEndpoint(edge.url, `${target.url}/fail`, { name: "refuses" });
  // Three delivered, one failed: what every scenario starts from.
  for (let i = 0; i < 3; i++) await postWebhook(okEndpoint.ingestUrl, JSON.stringify({ type: "invoice.paid", n: i }));
  await postWebhook(failEndpoint.ingestUrl, JSON.stringify({ type: "invoice.paid", n: 3 }));
  await statsReach({ received: 4, delivered: 3, failed: 1 });
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

/** The edge's 24 h totals as numbers. */
async function totals(range: "1h" | "24h" | "7d" = "24h"): Promise<{ received: number; delivered: number; failed: number }> {
  const t = (await adminClient(edge.url).getStats({ range })).totals!;
  return { received: Number(t.received), delivered: Number(t.delivered), failed: Number(t.failed) };
}

/** Waits until the edge's charts count `n` received, delivered and failed over 24 h. */
async function statsReach(n: { received: number; delivered: number; failed: number }): Promise<void> {
  await waitUntil(async () => JSON.stringify(await totals()) === JSON.stringify(n), UI_MS, `the stats to count ${JSON.stringify(n)}`);
}

const text = (page: Page, id: string) => byTestId(page, id).innerText();

describe("delivery charts on Status", () => {
  it("shows three delivered webhooks and one failed in the totals and the charts, and follows new ones live", async () => {
    // note: runs first in the file, on the webhooks of beforeAll.
    expect(await totals()).toEqual({ received: 4, delivered: 3, failed: 1 });
    const { page, errors } = await signedIn();

    await byTestId(page, "nav-status").click();
    await page.waitForURL("**/status");
    const charts = byTestId(page, "delivery-charts");
    await byTestId(charts, "stats-totals").waitFor();
    expect(await charts.getAttribute("data-range")).toBe("24h");
    expect(await text(page, "stats-received")).toBe("4");
    expect(await text(page, "stats-delivered")).toBe("3");
    expect(await text(page, "stats-failed")).toBe("1");
    expect(await text(page, "stats-success-rate")).toBe("75%");
    expect(await text(page, "stats-p50")).toMatch(/^\d+(\.\d)? (ms|s)$/);
    expect(await text(page, "stats-p95")).toMatch(/^\d+(\.\d)? (ms|s)$/);

    // Each chart is a canvas of its container's width, named for screen readers.
    for (const id of ["chart-counts", "chart-latency"]) {
      const chart = byTestId(page, id);
      expect(await chart.locator("canvas").count()).toBe(1);
      expect(await byTestId(page, `${id}-empty`).count()).toBe(0);
      const [box, canvas] = [await chart.boundingBox(), await chart.locator("canvas").boundingBox()];
      expect(canvas!.width).toBeGreaterThan(200);
      expect(Math.abs(canvas!.width - box!.width)).toBeLessThanOrEqual(box!.width * 0.2);
    }
    expect(await byTestId(page, "chart-counts").getAttribute("aria-label")).toBe(
      "Webhooks per 15 minutes, last 24 hours: 4 received, 3 delivered, 1 failed; busiest 15 minutes: 4 received.",
    );
    expect(await byTestId(page, "chart-latency").getAttribute("aria-label")).toMatch(/^End-to-end latency per 15 minutes, last 24 hours: p50 .+, p95 .+\.$/);
    await screenshot(page, "status-charts");

    // A new webhook shows up without a reload (the live stream; at the latest the 30 s refresh).
    await postWebhook(okEndpoint.ingestUrl, JSON.stringify({ type: "invoice.paid", n: 4 }));
    await statsReach({ received: 5, delivered: 4, failed: 1 });
    await expect.poll(() => text(page, "stats-received"), { timeout: UI_MS }).toBe("5");
    await expect.poll(() => text(page, "stats-delivered"), { timeout: UI_MS }).toBe("4");
    expect(await text(page, "stats-success-rate")).toBe("80%");

    // At phone width the charts shrink with the page.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect
      .poll(async () => (await byTestId(page, "chart-counts").locator("canvas").boundingBox())!.width, { timeout: UI_MS })
      .toBeLessThanOrEqual(390 - 2 * 16);
    await page.setViewportSize({ width: 1280, height: 800 });
    await expectFitsPhone(page, "status-charts");
    expect(errors).toEqual([]);
  });

  it("switches between 1 h, 24 h and 7 d, keeping the range in the URL", async () => {
    const { page, errors } = await signedIn();
    await page.goto("/status");
    const charts = byTestId(page, "delivery-charts");
    await byTestId(charts, "stats-totals").waitFor();
    expect(await byTestId(page, "range-24h").getAttribute("aria-current")).toBe("page");
    // note: every webhook of this file arrived within the hour, so each range counts the same.
    const { received } = await totals("1h");
    expect(await totals("7d")).toEqual(await totals("1h"));

    await byTestId(page, "range-1h").click();
    await page.waitForURL((url) => url.searchParams.get("range") === "1h");
    await expect.poll(() => charts.getAttribute("data-range")).toBe("1h");
    expect(await byTestId(page, "range-1h").getAttribute("aria-current")).toBe("page");
    expect(await byTestId(page, "range-24h").getAttribute("aria-current")).toBeNull();
    expect(await text(page, "stats-received")).toBe(String(received));
    expect(await byTestId(page, "chart-counts").getAttribute("aria-label")).toMatch(new RegExp(`^Webhooks per minute, last hour: ${received} received`));

    await byTestId(page, "range-7d").click();
    await page.waitForURL((url) => url.searchParams.get("range") === "7d");
    await expect.poll(() => charts.getAttribute("data-range")).toBe("7d");
    expect(await byTestId(page, "chart-counts").getAttribute("aria-label")).toMatch(new RegExp(`^Webhooks per hour, last 7 days: ${received} received`));

    // The URL alone brings the range back, and Back returns to the previous one.
    await page.reload();
    await expect.poll(() => byTestId(page, "delivery-charts").getAttribute("data-range")).toBe("7d");
    expect(await byTestId(page, "range-7d").getAttribute("aria-current")).toBe("page");
    await page.goBack();
    await page.waitForURL((url) => url.searchParams.get("range") === "1h");
    await expect.poll(() => charts.getAttribute("data-range")).toBe("1h");

    // The default range leaves the URL clean.
    await byTestId(page, "range-24h").click();
    await page.waitForURL((url) => url.pathname === "/status" && !url.searchParams.has("range"));
    await expect.poll(() => charts.getAttribute("data-range")).toBe("24h");
    expect(errors).toEqual([]);
  });
});

describe("endpoints list", () => {
  it("shows each endpoint's 24 h sparkline and success rate", async () => {
    const { page, errors } = await signedIn();
    const row = (id: string) => page.locator(`[data-testid="endpoint-row"][data-endpoint-id="${id}"]`);
    const ok = byTestId(row(okEndpoint.id), "endpoint-activity");
    const fail = byTestId(row(failEndpoint.id), "endpoint-activity");
    await byTestId(ok, "sparkline").waitFor();
    const stats = await adminClient(edge.url).getStats({ range: "24h" });
    const okReceived = Number(stats.endpoints.find((e) => e.endpointId === okEndpoint.id)!.totals!.received);
    expect(okReceived).toBeGreaterThanOrEqual(3);

    expect(await byTestId(ok, "sparkline").getAttribute("data-total")).toBe(String(okReceived));
    expect(await byTestId(ok, "sparkline").getAttribute("aria-label")).toBe(`${okReceived} received in 24 h, 100% delivered`);
    expect(await byTestId(ok, "sparkline").locator("path").count()).toBe(2);
    expect(await byTestId(ok, "endpoint-success-rate").innerText()).toBe("100%");
    expect(await byTestId(ok, "endpoint-received").innerText()).toBe(`${okReceived} received`);

    expect(await byTestId(fail, "sparkline").getAttribute("data-total")).toBe("1");
    expect(await byTestId(fail, "endpoint-success-rate").innerText()).toBe("0%");
    expect(await byTestId(fail, "sparkline").getAttribute("aria-label")).toBe("1 received in 24 h, 0% delivered");
    await screenshot(page, "endpoints-sparklines");

    // On a phone each endpoint is a card, its sparkline and success rate in sight.
    await page.setViewportSize({ width: 390, height: 844 });
    const card = page.locator(`[data-testid="endpoint-card"][data-endpoint-id="${okEndpoint.id}"]`);
    await byTestId(card, "sparkline").waitFor({ state: "visible" });
    expect(await byTestId(card, "endpoint-success-rate").innerText()).toBe("100%");
    expect(await byTestId(page, "endpoints-table").isVisible()).toBe(false);
    await page.setViewportSize({ width: 1280, height: 800 });
    await expectFitsPhone(page, "endpoints-sparklines");
    expect(errors).toEqual([]);
  });
});

describe("truthful status in the top bar", () => {
  it("says the edge cannot be reached, and when it last was, while the status poll fails; the hub badge is unknown meanwhile", async () => {
    const { page, errors } = await signedIn();
    await page.goto("/status");
    const badge = byTestId(page, "hub-status");
    const card = byTestId(page, "hub-card");
    await expect.poll(() => badge.getAttribute("data-connected"), { timeout: UI_MS }).toBe("true");
    await expect.poll(() => card.getAttribute("data-connected"), { timeout: UI_MS }).toBe("true");
    expect(await byTestId(page, "edge-banner").count()).toBe(0);

    // The network drops the status poll: no answer at all.
    await page.route(GET_STATUS, (route) => route.abort("connectionrefused"));
    const banner = byTestId(page, "edge-banner");
    await banner.waitFor({ timeout: POLL_WAIT_MS });
    expect(await banner.getAttribute("data-kind")).toBe("unreachable");
    expect(await byTestId(banner, "edge-banner-title").innerText()).toBe("Cannot reach the edge");
    expect(await byTestId(banner, "edge-banner-last").innerText()).toMatch(/^Last reached at \d{1,2}:\d{2}( [AP]M)? \(less than a minute ago\)\.$/);
    expect(await banner.innerText()).not.toMatch(/logs/i);
    expect(await badge.getAttribute("data-connected")).toBe("unknown");
    expect(await badge.innerText()).toBe("Hub unknown");
    // Status's own hub card says the same: only the last answer is known.
    expect(await card.getAttribute("data-connected")).toBe("unknown");
    expect(await byTestId(card, "hub-card-unknown").innerText()).toBe("● Unknown");
    await screenshot(page, "edge-unreachable");
    await expectFitsPhone(page, "edge-unreachable");

    // An answer that is an error is told apart: the edge was reached.
    await page.unroute(GET_STATUS);
    await page.route(GET_STATUS, (route) =>
      route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ code: "internal", message: "internal error" }) }),
    );
    await expect.poll(() => banner.getAttribute("data-kind"), { timeout: POLL_WAIT_MS }).toBe("error");
    expect(await byTestId(banner, "edge-banner-title").innerText()).toBe("The edge cannot report its status");
    expect(await badge.getAttribute("data-connected")).toBe("unknown");

    // Back: the banner goes and the badge believes the edge again.
    await page.unroute(GET_STATUS);
    await banner.waitFor({ state: "detached", timeout: POLL_WAIT_MS });
    await expect.poll(() => badge.getAttribute("data-connected"), { timeout: UI_MS }).toBe("true");
    expect(await badge.innerText()).toBe("Hub connected");
    await expect.poll(() => card.getAttribute("data-connected"), { timeout: UI_MS }).toBe("true");
    expect(errors).toEqual([]);
  });

  it("says a hub is offline with what is queued for it and when it was last seen, until it is back", async () => {
    const { page, errors } = await signedIn();
    const badge = byTestId(page, "hub-status");
    await expect.poll(() => badge.getAttribute("data-connected"), { timeout: UI_MS }).toBe("true");
    const admin = adminClient(edge.url);
    const [bootstrap] = (await admin.listHubs({})).hubs.filter((h) => h.bootstrap);

    await hub!.stop();
    hub = undefined;
    await waitUntil(async () => !(await admin.getStatus({})).hub?.connected, UI_MS, "the hub to be disconnected");
    await postWebhook(okEndpoint.ingestUrl, JSON.stringify({ type: "invoice.paid", n: "while offline" }));

    const banner = byTestId(page, "hubs-banner");
    await banner.waitFor({ timeout: POLL_WAIT_MS });
    expect(await byTestId(banner, "hubs-banner-title").innerText()).toBe(`Hub "${bootstrap!.name}" is offline`);
    const line = byTestId(banner, "offline-hub");
    expect(await line.getAttribute("data-hub-id")).toBe(bootstrap!.id);
    await expect.poll(() => byTestId(line, "offline-hub-queued").innerText(), { timeout: POLL_WAIT_MS }).toBe("1 webhook queued for it");
    expect(await byTestId(line, "offline-hub-last-seen").innerText()).toMatch(/^last seen \d{1,2}:\d{2}( [AP]M)? \(less than a minute ago\)$/);
    await expect.poll(() => badge.getAttribute("data-connected"), { timeout: UI_MS }).toBe("false");
    expect(await badge.innerText()).toBe("Hub offline");
    await screenshot(page, "hub-offline");
    await expectFitsPhone(page, "hub-offline");

    // The hub comes back: the queued webhook is delivered and the banner goes.
    const before = await totals();
    hub = await startHub(edge.url);
    await banner.waitFor({ state: "detached", timeout: POLL_WAIT_MS });
    await expect.poll(() => badge.getAttribute("data-connected"), { timeout: UI_MS }).toBe("true");
    await statsReach({ ...before, delivered: before.delivered + 1 });
    expect(errors).toEqual([]);
  });
});
