/**
 * Every page of the admin UI at phone size (390 × 844), in a real browser against a real edge
 * serving ui/build, a real hub and a recording LAN target: nothing may make the page scroll
 * sideways (`document.documentElement.scrollWidth <= window.innerWidth`; wide tables scroll inside
 * their card). The pages are found in ui/src/routes, so a new route fails here until it has a URL
 * below. Also the banners (edge unreachable, hub offline) and the page shown when the edge cannot
 * be reached at all. A screenshot of each goes to a new temp folder, printed as it is written.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../../apps/hub/src/hub.js";
import { startReceiver, type Receiver } from "../fakes/receiver.js";
import { ROOT, adminClient, createEndpoint, postWebhook, startHub, waitUntil, type TestEdge } from "../harness.js";
import { byTestId, launchBrowser, openPage, startUiEdge } from "./page.js";

const PHONE = { width: 390, height: 844 };
/** How long the UI may take to show something the edge already knows. */
const UI_MS = 10_000;
/** The layout polls GetStatus every 5 s: a banner may take one poll more than that. */
const POLL_WAIT_MS = 5_000 + UI_MS;
/** Where this run's screenshots go. */
const SHOTS = mkdtempSync(join(tmpdir(), "hookly-phone-"));

let edge: TestEdge;
let hub: Hub | undefined;
let target: Receiver;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Ids the parameterised routes are opened with. */
const ids = { endpoint: "", webhook: "", next: "" };

/** A page at phone size: whether it needs a session, its URL, and what shows once it has loaded. */
interface PhonePage {
  signedIn: boolean;
  url: () => string;
  /** A test id that is on screen once the page's data is in. */
  ready: string;
}

/**
 * Every route under ui/src/routes (route id as SvelteKit names it, groups kept), and the error
 * page, with how to open it.
 */
const PAGES: Record<string, PhonePage> = {
  "/signin": { signedIn: false, url: () => "/signin", ready: "signin-token" },
  "/denied": { signedIn: false, url: () => "/denied?login=eve", ready: "denied" },
  "/(app)": { signedIn: true, url: () => "/", ready: "sparkline" },
  // note: an alias that redirects to the endpoints list.
  "/(app)/endpoints": { signedIn: true, url: () => "/endpoints", ready: "sparkline" },
  "/(app)/endpoints/[id]": { signedIn: true, url: () => `/endpoints/${ids.endpoint}`, ready: "destination-row" },
  "/(app)/webhooks": { signedIn: true, url: () => "/webhooks", ready: "webhook-row" },
  "/(app)/webhooks/[id]": { signedIn: true, url: () => `/webhooks/${ids.webhook}`, ready: "delivery-row" },
  "/(app)/webhooks/compare": { signedIn: true, url: () => `/webhooks/compare?a=previous&b=${ids.next}`, ready: "compare-payload" },
  "/(app)/hubs": { signedIn: true, url: () => "/hubs", ready: "hub-row" },
  "/(app)/tokens": { signedIn: true, url: () => "/tokens", ready: "token-row" },
  "/(app)/settings": { signedIn: true, url: () => "/settings", ready: "setting-base-url" },
  "/(app)/status": { signedIn: true, url: () => "/status", ready: "stats-totals" },
  "+error": { signedIn: true, url: () => "/no-such-page", ready: "error-page" },
};

/** The route ids of ui/src/routes: each folder with a +page.svelte or +page.ts. */
function routeIds(): string[] {
  const base = join(ROOT, "ui", "src", "routes");
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (/^\+page\.(svelte|ts|js)$/.test(entry.name)) found.add(`/${relative(base, dir).split(sep).join("/")}`.replace(/\/$/, "") || "/");
    }
  };
  walk(base);
  return [...found].sort();
}

beforeAll(async () => {
  target = await startReceiver();
  target.respondWith((req) => (req.url.startsWith("/fail") ? 400 : 200));
  edge = await startUiEdge();
  hub = await startHub(edge.url);
  browser = await launchBrowser();

  // Realistic content: long names and URLs, a delivered and a failed webhook, a token, two hubs.
  const ok = await createEndpoint(edge.url, `${target.url}/ok/a-rather-long-path/that-goes/on-and-on?with=query&and=more`, {
    name: "Stripe payments for the production shop",
  });
  const failing = await createEndpoint(edge.url, `${target.url}/fail`, { name: "refuses" });
  ids.endpoint = ok.id;
  ids.webhook = await postWebhook(ok.ingestUrl, JSON.stringify({ type: "invoice.payment_succeeded", data: { id: "in_1NkVx2Lz" } }));
  ids.next = await postWebhook(ok.ingestUrl, JSON.stringify({ type: "invoice.payment_succeeded", data: { id: "in_1NkVx3Qa", amount_paid: 4200 } }));
  await postWebhook(failing.ingestUrl, JSON.stringify({ type: "customer.subscription.deleted" }));
  const admin = adminClient(edge.url);
  await admin.createApiToken({ name: "ci deploys" });
  // A second hub that never connects, with a destination: one webhook waits for it (the banner).
  const office = (await admin.createHub({ name: "office" })).credential!.hub!;
  await admin.createDestination({ endpointId: ok.id, destination: { hubId: office.id, url: `${target.url}/office`, name: "office NAS" } });
  await postWebhook(ok.ingestUrl, JSON.stringify({ type: "invoice.finalized" }));
  await waitUntil(
    async () => {
      const t = (await admin.getStats({ range: "24h" })).totals!;
      return t.delivered === 3n && t.failed === 1n;
    },
    UI_MS,
    "the deliveries to settle",
  );
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await hub?.stop();
  await edge?.close();
  await target?.close();
  console.log(`phone screenshots: ${SHOTS}`);
});

/** A phone-sized page, signed in with the admin token when `signedIn`, collecting page errors. */
function phonePage(signedIn: boolean): Promise<{ page: Page; errors: string[] }> {
  return openPage(browser, edge, contexts, { signedIn, timeoutMs: UI_MS, context: { viewport: PHONE, isMobile: true, hasTouch: true } });
}

/**
 * In the page: how far it scrolls sideways, and up to 8 elements that stick out past the right edge
 * (for the failure message); content of an element that scrolls or clips sideways does not count.
 * note: a string, as this project's TypeScript has no DOM types.
 */
const OVERFLOW = `(() => {
  const culprits = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right <= window.innerWidth + 0.5 || r.width === 0) continue;
    let clipped = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") { clipped = true; break; }
    }
    if (clipped) continue;
    const id = el.getAttribute("data-testid");
    const cls = String(el.getAttribute("class") ?? "").split(/\\s+/).slice(0, 3).join(".");
    culprits.push(el.tagName.toLowerCase() + (id ? "[data-testid=" + id + "]" : "") + "." + cls + " right=" + Math.round(r.right));
    if (culprits.length >= 8) break;
  }
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, culprits };
})()`;

/** How far the page scrolls sideways, and what sticks out. */
function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; culprits: string[] }> {
  return page.evaluate(OVERFLOW);
}

/** Asserts nothing scrolls sideways and saves a full-page screenshot as `<name>.png`, printing its path. */
async function expectFits(page: Page, name: string): Promise<void> {
  // note: fonts and the chart's resize settle first.
  await page.evaluate("document.fonts.ready");
  await page.waitForTimeout(300);
  const path = join(SHOTS, `${name}.png`);
  await page.evaluate("window.scrollTo(0, 0)");
  await page.screenshot({ path, fullPage: true, animations: "disabled" });
  console.log(`screenshot: ${path}`);
  const o = await overflow(page);
  expect(o.scrollWidth, `${name} scrolls sideways at ${o.innerWidth} px; sticking out: ${o.culprits.join(", ") || "(none found)"}`).toBeLessThanOrEqual(
    o.innerWidth,
  );
}

describe("every page at phone width", () => {
  it("has a URL for every route under ui/src/routes", () => {
    const routes = routeIds();
    expect(routes.length).toBeGreaterThan(5);
    expect(routes).toEqual(
      Object.keys(PAGES)
        .filter((k) => k !== "+error")
        .sort(),
    );
  });

  it.for(Object.entries(PAGES))("fits %s", async ([route, p]) => {
    const { page, errors } = await phonePage(p.signedIn);
    await page.goto(p.url());
    await byTestId(page, p.ready).first().waitFor();
    await expectFits(page, route.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "") || "root");
    expect(errors).toEqual([]);
  });

  it("fits the page shown when the edge cannot be reached at all", async () => {
    const { page, errors } = await phonePage(false);
    await page.route("**/auth/session", (route) => route.abort("connectionrefused"));
    await page.goto("/");
    await byTestId(page, "error-page").waitFor();
    await expectFits(page, "edge-down-error-page");
    expect(errors).toEqual([]);
  });

  it("fits the banners: the edge cannot be reached, and a hub is offline", async () => {
    const { page, errors } = await phonePage(true);
    const status = "**/hookly.v1.AdminService/GetStatus";
    // The office hub never connected and a webhook waits for it: its banner is there from the start.
    await byTestId(page, "hubs-banner").waitFor({ timeout: POLL_WAIT_MS });
    expect(await byTestId(page, "offline-hub-queued").innerText()).toBe("1 webhook queued for it");
    await page.goto("/status");
    await byTestId(page, "stats-totals").waitFor();
    await expectFits(page, "status-hub-offline");

    await page.route(status, (route) => route.abort("connectionrefused"));
    await byTestId(page, "edge-banner").waitFor({ timeout: POLL_WAIT_MS });
    await expectFits(page, "status-edge-unreachable");
    await page.unroute(status);
    await byTestId(page, "edge-banner").waitFor({ state: "detached", timeout: POLL_WAIT_MS });
    expect(errors).toEqual([]);
  });
});
