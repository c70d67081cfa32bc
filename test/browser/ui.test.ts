/**
 * The admin UI in a real browser (Debian's Chromium through playwright-core), against a real
 * edge that serves ui/build, a real hub, a recording LAN target and the fake GitHub. Everything
 * is asserted on what the page shows. Full-page screenshots of each main page go to
 * test-output/screenshots/ for a person to look at.
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Locator, Page, Request } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Ordering, ProviderType, UnverifiedRule, WebhookStatus } from "@hookly/proto/gen/admin_pb";
import type { Hub } from "../../apps/hub/src/hub.js";
import { loadConfig } from "../../apps/edge/src/config.js";
import { defaultExtensions } from "../../apps/edge/src/extensions.js";
import { startFakeGitHub, type FakeGitHub } from "../fakes/github.js";
import { startReceiver, type Receiver } from "../fakes/receiver.js";
import { TEST_SECRETS, adminClient, createEndpoint, freePort, postWebhook, startEdge, startHub, waitUntil, type TestEdge } from "../harness.js";
import { byTestId, expectFitsPhone, screenshot, launchBrowser } from "./page.js";

const ORG = "hookly-friends";
/** An avatar the UI's CSP lets through (`img-src data:`), like GitHub's own avatar host. */
const AVATAR = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8" fill="#6e40c9"/></svg>')}`;
const MEMBER = { login: "mona", avatarUrl: AVATAR, orgs: { [ORG]: "active" as const } };
const OUTSIDER = { login: "eve", orgs: { "some-other-org": "active" as const } };
/** A Standard Webhooks key, typed into the "New endpoint" dialog. */
const SIGNING_SECRET = `whsec_${Buffer.from("browser-test-signing-key-0123").toString("base64")}`;
/** How long the UI may take to show something the edge already knows. */
const UI_MS = 10_000;

let github: FakeGitHub;
let receiver: Receiver;
let edge: TestEdge;
let hub: Hub;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  github = await startFakeGitHub({ user: MEMBER });
  receiver = await startReceiver();
  // note: the OAuth redirect and the ingest URLs are built from BASE_URL, so it must be the real address.
  const port = await freePort();
  const env = {
    PORT: String(port),
    HOST: "127.0.0.1",
    BASE_URL: `http://127.0.0.1:${port}`,
    GITHUB_CLIENT_ID: github.clientId,
    GITHUB_CLIENT_SECRET: github.clientSecret,
    GITHUB_URL: github.url,
    GITHUB_API_URL: github.url,
    GITHUB_ORG: ORG,
    GITHUB_ALLOWED_USERS: "someone-else",
    HUB_HEARTBEAT_MS: "1000",
    HUB_DEAD_AFTER_MS: "4000",
  };
  const config = loadConfig({ ...TEST_SECRETS, DATABASE_PATH: ":memory:", ...env });
  edge = await startEdge({ env, port, extensions: await defaultExtensions(config) });
  expect(edge.url).toBe(env.BASE_URL);
  hub = await startHub(edge.url);
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await hub?.stop();
  await edge?.close();
  await receiver?.close();
  await github?.close();
});

/** What went wrong inside a page: uncaught errors, console errors, dialogs (alert/confirm/prompt). */
interface PageTrouble {
  errors: string[];
  console: string[];
  dialogs: string[];
}

/** A fresh browser context (own cookies) and page on the edge, watching for trouble. */
async function openPage(): Promise<{ page: Page; trouble: PageTrouble }> {
  const context = await browser.newContext({ baseURL: edge.url, viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(UI_MS);
  const trouble: PageTrouble = { errors: [], console: [], dialogs: [] };
  page.on("pageerror", (err) => trouble.errors.push(String(err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") trouble.console.push(msg.text());
  });
  page.on("dialog", (dialog) => {
    trouble.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { page, trouble };
}

/** Waits until the locator's attribute has the value (UI updates arrive asynchronously). */
async function waitForAttribute(locator: Locator, name: string, value: string, timeoutMs = UI_MS): Promise<void> {
  await expect.poll(() => locator.getAttribute(name), { timeout: timeoutMs, interval: 50 }).toBe(value);
}

/** Signs in through the fake GitHub as `user` and returns once the browser is back on the edge. */
async function signInWithGitHub(page: Page, user: Parameters<FakeGitHub["nextUser"]>[0]): Promise<void> {
  github.nextUser(user);
  await page.goto("/signin");
  await byTestId(page, "signin-github").click();
  await page.waitForURL((url) => url.origin === edge.url && url.pathname !== "/signin" && !url.pathname.startsWith("/auth/"));
}

/** A Standard Webhooks signed request, as a provider would send it. */
function signed(body: string, msgId: string, secret = SIGNING_SECRET): Record<string, string> {
  const now = new Date();
  return {
    "content-type": "application/json",
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(msgId, now, body),
  };
}

/** A Stripe-Signature header for `body`, made with `secret` (a wrong secret makes an unverified webhook). */
function stripeSigned(body: string, secret: string): Record<string, string> {
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
  return { "content-type": "application/json", "stripe-signature": `t=${t},v1=${v1}` };
}

/** Fails the test for anything the page should not have done: uncaught errors, dialogs, CSP refusals. */
function expectNoTrouble(trouble: PageTrouble): void {
  expect(trouble.dialogs).toEqual([]);
  expect(trouble.errors).toEqual([]);
  expect(trouble.console.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
}

/** A page signed in as the org member, on the endpoints page. */
async function memberPage(): Promise<{ page: Page; trouble: PageTrouble }> {
  const opened = await openPage();
  await signInWithGitHub(opened.page, MEMBER);
  return opened;
}

/** A page signed in with the admin token (audited as `admin`), on the endpoints page. */
async function adminPage(): Promise<{ page: Page; trouble: PageTrouble }> {
  const opened = await openPage();
  await opened.page.goto("/signin");
  await byTestId(opened.page, "signin-token").fill(TEST_SECRETS.ADMIN_TOKEN);
  await byTestId(opened.page, "signin-submit").click();
  await opened.page.waitForURL((url) => url.pathname !== "/signin");
  return opened;
}

/** A recording LAN target of the test's own, closed after it. */
async function ownReceiver(): Promise<Receiver> {
  const r = await startReceiver();
  scenarioReceivers.push(r);
  return r;
}
const scenarioReceivers: Receiver[] = [];
afterEach(async () => {
  while (scenarioReceivers.length) await scenarioReceivers.pop()!.close();
});

/** The webhook row of `id` on the list. */
const webhookRow = (page: Page, id: string) => page.locator(`[data-testid="webhook-row"][data-webhook-id="${id}"]`);

describe("admin UI", () => {
  it("signs in with GitHub as an org member and creates an endpoint through the dialog", async () => {
    const { page, trouble } = await memberPage();
    // GitHub → callback → the endpoints page, empty (this scenario runs first in the file).
    expect(new URL(page.url()).pathname).toBe("/");
    await byTestId(page, "endpoints-empty").waitFor();
    expect(await byTestId(page, "user").innerText()).toContain(MEMBER.login);
    await waitForAttribute(byTestId(page, "hub-status"), "data-connected", "true");

    await byTestId(page, "new-endpoint").click();
    const dialog = byTestId(page, "new-endpoint-dialog");
    await dialog.waitFor();
    await byTestId(dialog, "endpoint-name").fill("LAN receiver");
    await byTestId(dialog, "endpoint-provider").click();
    await byTestId(page, "endpoint-provider-option").filter({ hasText: "Generic" }).click();
    expect(await byTestId(dialog, "endpoint-provider").innerText()).toContain("Generic");
    await byTestId(dialog, "endpoint-secret").fill(SIGNING_SECRET);
    await byTestId(dialog, "endpoint-destination").fill(`${receiver.url}/hook`);
    await byTestId(dialog, "create-endpoint").click();
    const ingestUrl = (await byTestId(dialog, "ingest-url").innerText()).trim();
    expect(ingestUrl).toMatch(new RegExp(`^${edge.url}/h/ep_[A-Za-z0-9_-]+$`));
    await screenshot(page, "endpoints-dialog");
    await byTestId(dialog, "done").click();
    await dialog.waitFor({ state: "detached" });
    const row = byTestId(page, "endpoint-row");
    await row.waitFor();
    expect(await row.innerText()).toContain("LAN receiver");
    await screenshot(page, "endpoints");

    // What the dialog made is what the API has: the secret verifies a signed webhook.
    const endpointId = new URL(ingestUrl).pathname.split("/").at(-1)!;
    const body = JSON.stringify({ type: "dialog.check" });
    const id = await postWebhook(ingestUrl, body, signed(body, "msg_dialog"));
    const { webhook } = await adminClient(edge.url).getWebhook({ id });
    expect(webhook!.endpointId).toBe(endpointId);
    expect(webhook!.signatureValid).toBe(true);
    await receiver.waitFor(1, { filter: (r) => r.url === "/hook" });
    expectNoTrouble(trouble);
  });

  it("rotates an endpoint's signature secret in the UI: one field per secret, and both verify until the old one goes", async () => {
    const target = await ownReceiver();
    const { id: endpointId, ingestUrl } = await createEndpoint(edge.url, `${target.url}/hook`, { name: "rotating", signatureSecret: SIGNING_SECRET });
    const { page, trouble } = await memberPage();
    await page.goto(`/endpoints/${endpointId}`);
    await byTestId(page, "signature-state").waitFor();
    expect(await byTestId(page, "signature-state").innerText()).toBe("Secret set");

    // The old secret and the new one, each in its own field (a new secret may hold spaces: it is never split).
    const NEW_SECRET = `whsec_${Buffer.from("the new browser-test signing key").toString("base64")}`;
    await byTestId(page, "endpoint-secret").fill(SIGNING_SECRET);
    await byTestId(page, "endpoint-secret-add").click();
    await byTestId(page, "endpoint-secret-2").fill(NEW_SECRET);
    await screenshot(page, "endpoint-rotation");
    await byTestId(page, "save-endpoint").click();
    await byTestId(page, "saved").waitFor();
    await waitUntil(async () => (await byTestId(page, "signature-state").innerText()).startsWith("2 secrets set"), UI_MS, "two secrets shown");
    expect((await adminClient(edge.url).getEndpoint({ id: endpointId })).endpoint?.signatureSecretCount).toBe(2);

    const verified = async (secret: string, msgId: string) => {
      const body = JSON.stringify({ type: "rotation.check", msgId });
      const id = await postWebhook(ingestUrl, body, signed(body, msgId, secret));
      return (await adminClient(edge.url).getWebhook({ id })).webhook!.signatureValid;
    };
    expect(await verified(SIGNING_SECRET, "msg_old")).toBe(true);
    expect(await verified(NEW_SECRET, "msg_new")).toBe(true);

    // Skipping a provider's repeats is a switch on the same page.
    await byTestId(page, "dedup-switch").click();
    await waitUntil(async () => (await adminClient(edge.url).getEndpoint({ id: endpointId })).endpoint?.dedupWindowMs === 600_000, UI_MS, "deduplication on");
    expectNoTrouble(trouble);
  });

  it("shows a signed webhook live, without a reload, and its page: pretty JSON with every digit, headers, signature, attempt", async () => {
    const target = await ownReceiver();
    const { id: endpointId, ingestUrl } = await createEndpoint(edge.url, `${target.url}/hook`, { name: "live", signatureSecret: SIGNING_SECRET });
    const { page, trouble } = await memberPage();

    // The endpoint's webhooks, empty, with the live stream open.
    await page.goto(`/webhooks?endpoint=${endpointId}`);
    await byTestId(page, "webhooks-empty").waitFor();
    await waitForAttribute(byTestId(page, "live-status"), "data-state", "live");
    await screenshot(page, "webhooks-empty");

    let navigations = 0;
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    // note: written by hand: the order id does not fit a double, and the UI must keep every digit.
    const body = `{"type":"order.paid","order":{"id":12345678901234567890,"items":[1,2]},"note":"café ☕"}`;
    const pretty = [
      "{",
      '  "type": "order.paid",',
      '  "order": {',
      '    "id": 12345678901234567890,',
      '    "items": [',
      "      1,",
      "      2",
      "    ]",
      "  },",
      '  "note": "café ☕"',
      "}",
    ].join("\n");
    const firstId = await postWebhook(ingestUrl, body, signed(body, "msg_first"));
    const firstRow = webhookRow(page, firstId);
    await firstRow.waitFor();
    await waitForAttribute(byTestId(firstRow, "status-badge"), "data-status", "delivered");
    expect(navigations).toBe(0);
    await target.waitFor(1);
    expect(target.requests[0]!.body.toString()).toBe(body);

    await byTestId(firstRow, "webhook-link").click();
    await page.waitForURL(`**/webhooks/${firstId}`);
    expect(await byTestId(page, "webhook-id").innerText()).toBe(firstId);
    const payload = byTestId(page, "payload");
    await waitForAttribute(payload, "data-kind", "json");
    expect(await payload.getAttribute("data-mode")).toBe("pretty");
    expect(await payload.innerText()).toBe(pretty);
    await byTestId(page, "payload-raw").click();
    await waitForAttribute(payload, "data-mode", "raw");
    expect(await payload.innerText()).toBe(body);
    await byTestId(page, "payload-pretty").click();
    await waitForAttribute(payload, "data-mode", "pretty");
    const headerRows = await byTestId(page, "header-row").allInnerTexts();
    expect(headerRows.some((h) => /webhook-id\s+msg_first/.test(h))).toBe(true);
    expect(headerRows.some((h) => /content-type\s+application\/json/.test(h))).toBe(true);
    await waitForAttribute(byTestId(page, "signature"), "data-valid", "true");
    expect(await byTestId(page, "signature").innerText()).toContain("Valid signature");
    await waitForAttribute(byTestId(page, "status-badge"), "data-status", "delivered");
    const attempts = byTestId(page, "attempt-row");
    await attempts.first().waitFor();
    expect(await attempts.count()).toBe(1);
    expect(await attempts.first().getAttribute("data-outcome")).toBe("response");
    expect(await attempts.first().innerText()).toContain("200");
    await screenshot(page, "webhook-detail");

    // The download is the edge's copy of the bytes, as a file named for the webhook.
    const [download] = await Promise.all([page.waitForEvent("download"), byTestId(page, "download-payload").click()]);
    expect(download.suggestedFilename()).toBe(`${firstId}.json`);
    expect(readFileSync(await download.path()).toString()).toBe(body);
    expectNoTrouble(trouble);
  });

  it("shows retries while the target answers 500, the failure on a 400, and a replay that is delivered", async () => {
    const target = await ownReceiver();
    target.respondWith(500);
    const { id: endpointId, ingestUrl } = await createEndpoint(edge.url, `${target.url}/hook`, { name: "flaky", signatureSecret: SIGNING_SECRET });
    const { page, trouble } = await memberPage();
    await page.goto(`/webhooks?endpoint=${endpointId}`);
    await waitForAttribute(byTestId(page, "live-status"), "data-state", "live");

    const failBody = JSON.stringify({ type: "order.refunded", n: 2 });
    const failId = await postWebhook(ingestUrl, failBody, signed(failBody, "msg_second"));
    const failRow = webhookRow(page, failId);
    await failRow.waitFor();
    await waitForAttribute(byTestId(failRow, "status-badge"), "data-status", "pending");
    await byTestId(failRow, "webhook-link").click();
    await page.waitForURL(`**/webhooks/${failId}`);
    await expect.poll(() => byTestId(page, "attempt-row").count(), { timeout: UI_MS }).toBeGreaterThanOrEqual(2);
    expect(await byTestId(page, "status-badge").getAttribute("data-status")).toBe("pending");
    expect(await byTestId(page, "webhook-error").innerText()).toContain("HTTP 500");
    target.respondWith(400);
    await waitForAttribute(byTestId(page, "status-badge"), "data-status", "failed");
    await expect.poll(() => byTestId(page, "webhook-error").innerText(), { timeout: UI_MS }).toContain("HTTP 400");
    expect(await byTestId(page, "attempt-row").last().innerText()).toContain("400");
    await screenshot(page, "webhook-failed");

    // The target recovers; a replay of the failed webhook, signed afresh (a generic endpoint with its secret), is delivered.
    target.respondWith(200);
    const before = target.requests.length;
    await byTestId(page, "replay").click();
    const dialog = byTestId(page, "replay-dialog");
    await dialog.waitFor();
    expect(await byTestId(dialog, "replay-pending-warning").count()).toBe(0);
    await byTestId(dialog, "replay-resign").check();
    await screenshot(page, "webhook-replay-dialog");
    await byTestId(dialog, "confirm").click();
    const replayed = byTestId(page, "replayed-link");
    await replayed.waitFor();
    await waitForAttribute(byTestId(page, "replayed-signature"), "data-resigned", "true");
    const replayId = (await replayed.innerText()).trim();
    expect(replayId).not.toBe(failId);
    // The original lists its replay, re-signed, and is superseded once the replay is delivered.
    const replayRow = page.locator(`[data-testid="replay-row"][data-webhook-id="${replayId}"]`);
    await waitForAttribute(byTestId(replayRow, "replay-row-signature"), "data-resigned", "true");
    expect(await byTestId(replayRow, "replay-row-signature").innerText()).toBe("Re-signed");
    await expect.poll(() => byTestId(page, "superseded-by").count(), { timeout: UI_MS }).toBe(1);
    expect(await byTestId(page, "superseded-by").innerText()).toBe(replayId);
    await byTestId(page, "superseded-badge").waitFor();
    await waitForAttribute(byTestId(page, "audit-row").first(), "data-action", "replay");
    expect(await byTestId(page, "audit-what").first().innerText()).toContain(replayId);
    expect(await byTestId(page, "audit-actor").first().innerText()).toBe(`${MEMBER.login} (GitHub)`);
    await replayed.click();
    await page.waitForURL(`**/webhooks/${replayId}`);
    await waitForAttribute(byTestId(page, "status-badge"), "data-status", "delivered");
    expect(await byTestId(page, "replay-of").innerText()).toBe(failId);
    await waitForAttribute(byTestId(page, "replay-signature"), "data-resigned", "true");
    expect(await byTestId(page, "replay-signature-badge").innerText()).toBe("Re-signed");
    expect(await byTestId(page, "payload").innerText()).toBe(JSON.stringify(JSON.parse(failBody), null, 2));
    const arrived = await target.waitFor(before + 1);
    const copy = arrived.at(-1)!;
    expect(copy.body.toString()).toBe(failBody);
    // The fresh signature verifies with the endpoint's secret.
    const header = (name: string) => String(copy.headers[name]);
    expect(() =>
      new Webhook(SIGNING_SECRET).verify(failBody, {
        "webhook-id": header("webhook-id"),
        "webhook-timestamp": header("webhook-timestamp"),
        "webhook-signature": header("webhook-signature"),
      }),
    ).not.toThrow();
    await waitForAttribute(byTestId(page, "hub-status"), "data-connected", "true");
    await screenshot(page, "webhook-replay");
    expectNoTrouble(trouble);
  });

  it("skips the head of a queue whose destination answers 500: settled as skipped by admin, and the next webhook is delivered", async () => {
    const target = await ownReceiver();
    target.respondWith(500);
    const { ingestUrl } = await createEndpoint(edge.url, `${target.url}/hook`, { name: "stuck" });
    const admin = adminClient(edge.url);
    const headId = await postWebhook(ingestUrl, JSON.stringify({ n: 1 }));
    const nextId = await postWebhook(ingestUrl, JSON.stringify({ n: 2 }));
    await waitUntil(async () => ((await admin.getWebhook({ id: headId })).webhook?.attempts ?? 0) >= 1, UI_MS, "the head tried");

    const { page, trouble } = await adminPage();
    // Behind the head, the next webhook offers Cancel, not Skip.
    await page.goto(`/webhooks/${nextId}`);
    await byTestId(page, "delivery-cancel").waitFor();
    expect(await byTestId(page, "delivery-skip").count()).toBe(0);

    await page.goto(`/webhooks/${headId}`);
    const row = byTestId(page, "delivery-row");
    await byTestId(row, "delivery-queue-head").waitFor();
    expect(await byTestId(row, "delivery-cancel").count()).toBe(0);
    await byTestId(row, "delivery-skip").click();
    const dialog = byTestId(page, "delivery-action-dialog");
    await dialog.waitFor();
    expect(await dialog.innerText()).toMatch(/queue moves on/);
    await screenshot(page, "delivery-skip-dialog");
    await byTestId(dialog, "confirm").click();
    await dialog.waitFor({ state: "detached" });
    expect(await byTestId(page, "delivery-action-result").innerText()).toMatch(/Skipped/);
    await waitForAttribute(byTestId(row, "delivery-status"), "data-status", "failed");
    await expect.poll(() => byTestId(row, "delivery-settled").innerText(), { timeout: UI_MS }).toMatch(/^skipped by admin$/i);
    expect(await byTestId(row, "delivery-skip").count()).toBe(0);
    await waitForAttribute(byTestId(page, "audit-row").first(), "data-action", "skip");
    expect(await byTestId(page, "audit-actor").first().innerText()).toBe("admin");
    await screenshot(page, "delivery-skipped");
    await expectFitsPhone(page, "delivery-skipped");

    // The queue moved on: once the next webhook has been tried (so no attempt of the head is still out), the target recovers.
    await waitUntil(async () => ((await admin.getWebhook({ id: nextId })).webhook?.attempts ?? 0) >= 1, UI_MS, "the next webhook tried");
    target.respondWith(200);
    await page.goto(`/webhooks/${nextId}`);
    await waitForAttribute(byTestId(page, "status-badge"), "data-status", "delivered");
    expect((await admin.getWebhook({ id: headId })).webhook?.status).toBe(WebhookStatus.FAILED);
    expectNoTrouble(trouble);
  });

  it("replays two selected failed webhooks from the list: two replays appear, and the originals are superseded", async () => {
    const target = await ownReceiver();
    target.respondWith(400);
    const { id: endpointId, ingestUrl } = await createEndpoint(edge.url, `${target.url}/hook`, { name: "bulk" });
    const admin = adminClient(edge.url);
    const failed = [await postWebhook(ingestUrl, JSON.stringify({ n: 1 })), await postWebhook(ingestUrl, JSON.stringify({ n: 2 }))];
    for (const id of failed) {
      await expect.poll(async () => (await admin.getWebhook({ id })).webhook!.status, { timeout: UI_MS }).toBe(WebhookStatus.FAILED);
    }
    target.respondWith(200);

    const { page, trouble } = await memberPage();
    await page.goto(`/webhooks?endpoint=${endpointId}`);
    await expect.poll(() => byTestId(page, "webhook-row").count(), { timeout: UI_MS }).toBe(2);
    await byTestId(webhookRow(page, failed[0]!), "select-row").check();
    await expect.poll(() => byTestId(page, "selected-count").innerText(), { timeout: UI_MS }).toBe("1 selected");
    await byTestId(page, "select-page").check();
    await expect.poll(() => byTestId(page, "selected-count").innerText(), { timeout: UI_MS }).toBe("2 selected");
    await byTestId(page, "bulk-replay-selected").click();
    const dialog = byTestId(page, "bulk-dialog");
    await dialog.waitFor();
    expect(await byTestId(dialog, "bulk-allow-pending").count()).toBe(0);
    await screenshot(page, "webhooks-bulk-dialog");
    await byTestId(dialog, "confirm").click();
    const result = byTestId(page, "bulk-result");
    await result.waitFor();
    expect(await result.innerText()).toContain("Replayed 2 of 2 webhooks");
    expect(await byTestId(result, "bulk-replay-link").count()).toBe(2);
    expect(await byTestId(page, "selected-count").innerText()).toBe("Tick webhooks to act on several at once");

    // The replays appear as rows of their own, the copies of the two originals, and are delivered.
    const replays = page.locator('[data-testid="webhook-row"][data-replay-of]');
    await expect.poll(() => replays.count(), { timeout: UI_MS }).toBe(2);
    expect((await replays.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-replay-of")))).sort()).toEqual([...failed].sort());
    await target.waitFor(2);
    for (const id of failed) await byTestId(webhookRow(page, id), "superseded-badge").waitFor();
    await screenshot(page, "webhooks-bulk");
    await expectFitsPhone(page, "webhooks-bulk");

    // Hide superseded: the toggle goes into the URL and the originals go; the failed filter hides them by default.
    await byTestId(page, "filter-hide-superseded").click();
    await page.waitForURL((url) => url.searchParams.get("superseded") === "hide");
    await expect.poll(() => byTestId(page, "webhook-row").count(), { timeout: UI_MS }).toBe(2);
    expect(await replays.count()).toBe(2);
    await page.goto(`/webhooks?endpoint=${endpointId}&status=failed`);
    await byTestId(page, "webhooks-empty").waitFor();
    expect(await byTestId(page, "filter-hide-superseded").getAttribute("data-state")).toBe("checked");
    expectNoTrouble(trouble);
  });

  it("holds an unverified webhook as the destination's policy says, set in the dialog; released from its page, it is delivered with the policy's headers", async () => {
    const target = await ownReceiver();
    const STRIPE_SECRET = "whsec_browser_hold_0123456789";
    const { id: endpointId, ingestUrl } = await createEndpoint(edge.url, `${target.url}/hook`, {
      name: "stripe held",
      providerType: ProviderType.STRIPE,
      signatureSecret: STRIPE_SECRET,
    });
    const admin = adminClient(edge.url);
    const { page, trouble } = await memberPage();
    await page.goto(`/endpoints/${endpointId}`);
    const row = byTestId(page, "destination-row");
    await row.waitFor();
    expect(await byTestId(row, "destination-policy").innerText()).toBe("Strict order");

    // The policy, in the dialog: concurrent, a 5 s timeout, at most 5 attempts, 2 hours at most, one header for the LAN service, hold unverified.
    await byTestId(row, "edit-destination").click();
    const dialog = byTestId(page, "destination-dialog");
    const policy = byTestId(dialog, "destination-policy");
    await policy.waitFor();
    expect(await byTestId(policy, "policy-unverified-deliver").isChecked()).toBe(true);
    await byTestId(policy, "policy-unverified-hold").check();
    await byTestId(policy, "policy-ordering-concurrent").check();
    expect(await byTestId(policy, "policy-concurrency").inputValue()).toBe("4");
    await byTestId(policy, "policy-timeout").fill("5");
    await byTestId(policy, "policy-max-age").fill("2");
    await byTestId(policy, "policy-max-age-unit").click();
    await byTestId(page, "policy-max-age-unit-option").filter({ hasText: "hours" }).click();
    await byTestId(policy, "policy-max-attempts").fill("0");
    await byTestId(policy, "policy-header-add").click();
    await byTestId(policy, "policy-header-name").fill("X-Relay-Token");
    await byTestId(policy, "policy-header-value").fill("lan-only-secret");
    // Checked before it is sent: 0 attempts is refused next to the field.
    await byTestId(dialog, "save-destination").click();
    await expect.poll(() => policy.innerText(), { timeout: UI_MS }).toMatch(/whole number from 1 to 1000/);
    await byTestId(policy, "policy-max-attempts").fill("5");
    await screenshot(page, "destination-policy-dialog");
    await expectFitsPhone(page, "destination-policy-dialog");
    await byTestId(dialog, "save-destination").click();
    await dialog.waitFor({ state: "detached" });
    await expect
      .poll(() => byTestId(row, "destination-policy").innerText(), { timeout: UI_MS })
      .toBe("Concurrent ×4 · timeout 5 s · max 5 attempts · max age 2 h · holds unverified · 1 header");
    const saved = (await admin.getEndpoint({ id: endpointId })).endpoint!.destinations[0]!.policy!;
    expect(saved).toMatchObject({
      ordering: Ordering.CONCURRENT,
      concurrency: 4,
      timeoutMs: 5_000,
      maxAttempts: 5,
      maxAgeMs: 7_200_000n,
      headers: [{ name: "X-Relay-Token", value: "[redacted]" }],
      unverified: UnverifiedRule.HOLD,
    });

    // Opened again, the header's value is not shown. Taking the attempt limit off is one save: the limit goes back to its
    // default and the stored value, left blank, is kept (the webhook released below arrives with it).
    const summary = () => byTestId(row, "destination-policy").innerText();
    await byTestId(row, "edit-destination").click();
    await policy.waitFor();
    const header = byTestId(policy, "policy-header-row");
    expect(await header.getAttribute("data-stored")).toBe("true");
    expect(await byTestId(header, "policy-header-value").inputValue()).toBe("");
    expect(await byTestId(header, "policy-header-value").getAttribute("placeholder")).toBe("stored — leave to keep");
    await byTestId(policy, "policy-max-attempts").fill("");
    const updates: unknown[] = [];
    const onRequest = (req: Request) => {
      if (req.url().endsWith("/hookly.v1.AdminService/UpdateDestination")) updates.push(req.postDataJSON());
    };
    page.on("request", onRequest);
    await byTestId(dialog, "save-destination").click();
    await dialog.waitFor({ state: "detached" });
    page.off("request", onRequest);
    expect(updates).toEqual([expect.objectContaining({ clearPolicyFields: ["max_attempts"] })]);
    expect(updates[0]).not.toHaveProperty("resetPolicy");
    await expect.poll(summary, { timeout: UI_MS }).toBe("Concurrent ×4 · timeout 5 s · max age 2 h · holds unverified · 1 header");
    const cleared = (await admin.getEndpoint({ id: endpointId })).endpoint!.destinations[0]!.policy!;
    expect(cleared).toMatchObject({ maxAttempts: 0, timeoutMs: 5_000, headers: [{ name: "X-Relay-Token", value: "[redacted]" }] });

    // Left blank, a stored value is kept when the list changes: a second header joins it.
    await byTestId(row, "edit-destination").click();
    await policy.waitFor();
    await byTestId(policy, "policy-header-add").click();
    await byTestId(policy, "policy-header-name").last().fill("X-Second");
    await byTestId(policy, "policy-header-value").last().fill("two");
    await byTestId(dialog, "save-destination").click();
    await dialog.waitFor({ state: "detached" });
    await expect.poll(summary, { timeout: UI_MS }).toBe("Concurrent ×4 · timeout 5 s · max age 2 h · holds unverified · 2 headers");

    // A webhook signed with the wrong secret is held: counted on the row, linked to the endpoint's unverified webhooks.
    const body = JSON.stringify({ id: "evt_held", type: "invoice.paid" });
    const heldId = await postWebhook(ingestUrl, body, stripeSigned(body, "whsec_not_the_secret"));
    const heldCount = byTestId(row, "destination-held-count");
    await expect.poll(() => heldCount.count(), { timeout: UI_MS }).toBe(1);
    expect(await heldCount.innerText()).toBe("1 held");
    expect(await row.getAttribute("data-held-count")).toBe("1");
    await screenshot(page, "endpoint-held");
    await heldCount.click();
    await page.waitForURL(
      (url) => url.pathname === "/webhooks" && url.searchParams.get("endpoint") === endpointId && url.searchParams.get("verified") === "false",
    );
    await byTestId(webhookRow(page, heldId), "webhook-link").click();

    // Its page: held since it arrived, with Release and Cancel only.
    await page.waitForURL(`**/webhooks/${heldId}`);
    const delivery = byTestId(page, "delivery-row");
    await waitForAttribute(delivery, "data-held", "true");
    expect(await byTestId(delivery, "delivery-held").innerText()).toMatch(/^Held \(unverified\) since /);
    await byTestId(byTestId(page, "held-notice"), "held-release").waitFor();
    await byTestId(delivery, "delivery-cancel").waitFor();
    expect(await byTestId(delivery, "delivery-skip").count()).toBe(0);
    expect(await byTestId(delivery, "delivery-retry-now").count()).toBe(0);
    expect(target.requests).toHaveLength(0);
    await screenshot(page, "webhook-held");
    await expectFitsPhone(page, "webhook-held");

    await byTestId(delivery, "delivery-release").click();
    const confirm = byTestId(page, "delivery-action-dialog");
    expect(await confirm.innerText()).toMatch(/signature did not check out/);
    await byTestId(confirm, "confirm").click();
    await confirm.waitFor({ state: "detached" });
    expect(await byTestId(page, "delivery-action-result").innerText()).toMatch(/Released/);
    await waitForAttribute(byTestId(delivery, "delivery-status"), "data-status", "delivered");
    expect(await byTestId(delivery, "delivery-held").count()).toBe(0);
    expect(await byTestId(page, "held-notice").count()).toBe(0);
    await waitForAttribute(byTestId(page, "audit-row").first(), "data-action", "release");
    expect(await byTestId(page, "audit-what").first().innerText()).toMatch(/^Released/);
    const [arrived] = await target.waitFor(1);
    expect(arrived!.body.toString()).toBe(body);
    expect(arrived!.headers["x-relay-token"]).toBe("lan-only-secret");
    expect(arrived!.headers["x-second"]).toBe("two");
    expect((await admin.getEndpoint({ id: endpointId })).endpoint!.destinations[0]!.heldCount).toBe(0n);
    expectNoTrouble(trouble);
  });

  it("releases every held webhook matching the list's filters, oldest first", async () => {
    const target = await ownReceiver();
    const { id: endpointId, ingestUrl } = await createEndpoint(edge.url, `${target.url}/hook`, {
      name: "stripe bulk release",
      providerType: ProviderType.STRIPE,
      signatureSecret: "whsec_browser_bulk_0123456789",
    });
    const admin = adminClient(edge.url);
    const destinationId = (await admin.getEndpoint({ id: endpointId })).endpoint!.destinations[0]!.id;
    await admin.updateDestination({ id: destinationId, policy: { unverified: UnverifiedRule.HOLD } });
    const bodies = [1, 2].map((n) => JSON.stringify({ id: `evt_${n}`, n }));
    for (const b of bodies) await postWebhook(ingestUrl, b, stripeSigned(b, "whsec_wrong"));
    await expect.poll(async () => (await admin.getEndpoint({ id: endpointId })).endpoint!.destinations[0]!.heldCount, { timeout: UI_MS }).toBe(2n);

    const { page, trouble } = await memberPage();
    await page.goto(`/webhooks?endpoint=${endpointId}&verified=false`);
    await expect.poll(() => byTestId(page, "webhook-row").count(), { timeout: UI_MS }).toBe(2);
    await byTestId(page, "bulk-release-matching").click();
    const dialog = byTestId(page, "bulk-dialog");
    await dialog.waitFor();
    expect(await byTestId(dialog, "bulk-filter").innerText()).toContain("signature not verified");
    await screenshot(page, "webhooks-bulk-release-dialog");
    await byTestId(dialog, "confirm").click();
    const result = byTestId(page, "bulk-result");
    await result.waitFor();
    expect(await result.innerText()).toContain("Released 2 of 2 webhooks");
    await target.waitFor(2);
    expect(target.requests.map((r) => r.body.toString())).toEqual(bodies);
    await expect
      .poll(() => byTestId(page, "status-badge").evaluateAll((els) => els.map((e) => e.getAttribute("data-status"))), { timeout: UI_MS })
      .toEqual(["delivered", "delivered"]);
    await expectFitsPhone(page, "webhooks-bulk-release");
    expectNoTrouble(trouble);
  });

  it("lists an endpoint's webhooks with their states, and Status counts what the edge counts", async () => {
    const target = await ownReceiver();
    const { id: endpointId, ingestUrl } = await createEndpoint(edge.url, `${target.url}/hook`, { name: "states" });
    // Two delivered, then one the target refuses for good.
    for (const n of [1, 2]) await postWebhook(ingestUrl, JSON.stringify({ n }));
    await target.waitFor(2);
    target.respondWith(400);
    const failedId = await postWebhook(ingestUrl, JSON.stringify({ n: 3 }));
    const admin = adminClient(edge.url);
    await expect.poll(async () => (await admin.getWebhook({ id: failedId })).webhook!.status, { timeout: UI_MS }).toBe(WebhookStatus.FAILED);

    const { page, trouble } = await memberPage();
    await page.goto(`/webhooks?endpoint=${endpointId}`);
    await expect.poll(() => byTestId(page, "webhook-row").count(), { timeout: UI_MS }).toBe(3);
    const states = await byTestId(page, "status-badge").evaluateAll((els) => els.map((e) => e.getAttribute("data-status")));
    expect(states.sort()).toEqual(["delivered", "delivered", "failed"]);
    await screenshot(page, "webhooks");

    await byTestId(page, "nav-status").click();
    await page.waitForURL("**/status");
    await waitForAttribute(byTestId(page, "hub-card"), "data-connected", "true");
    // note: the counts cover every endpoint of this edge, so they are compared with the edge's own.
    const { last24h } = await admin.getStatus({});
    await expect.poll(() => byTestId(page, "count-received").innerText(), { timeout: UI_MS }).toBe(String(last24h!.received));
    expect(await byTestId(page, "count-delivered").innerText()).toBe(String(last24h!.delivered));
    expect(await byTestId(page, "count-failed").innerText()).toBe(String(last24h!.failed));
    expect(last24h!.failed).toBeGreaterThanOrEqual(1n);
    expect(await byTestId(page, "edge-version").innerText()).toMatch(/^\d+\.\d+\.\d+/);
    await screenshot(page, "status");
    expectNoTrouble(trouble);
  });

  it("creates an API token and shows its secret once; Settings shows the edge's base URL", async () => {
    const { page, trouble } = await memberPage();
    await byTestId(page, "nav-tokens").click();
    await page.waitForURL("**/tokens");
    await byTestId(page, "tokens-empty").waitFor();
    await screenshot(page, "tokens-empty");
    await byTestId(page, "token-name").fill("ci deploy");
    await byTestId(page, "create-token").click();
    const secret = (await byTestId(page, "token-secret").innerText()).trim();
    expect(secret.length).toBeGreaterThan(20);
    await byTestId(page, "token-row").waitFor();
    expect(await byTestId(page, "token-row").innerText()).toContain("ci deploy");
    await screenshot(page, "tokens");
    // Made with the least scope by default: it reads, and changes nothing.
    expect(await byTestId(page, "token-scope-cell").innerText()).toBe("read");
    // The secret works, and is shown nowhere once the page is left.
    expect((await adminClient(edge.url, secret).whoAmI({})).principal).toBeTruthy();
    await expect(adminClient(edge.url, secret).createHub({ name: "not with a read token" })).rejects.toThrow(/needs the admin scope/);
    await page.reload();
    await byTestId(page, "token-row").waitFor();
    expect(await page.content()).not.toContain(secret);

    await byTestId(page, "nav-settings").click();
    await page.waitForURL("**/settings");
    expect(await byTestId(page, "setting-base-url").innerText()).toBe(edge.url);
    await screenshot(page, "settings");
    expectNoTrouble(trouble);
  });

  it("shows hostile payloads and headers as text, running nothing", async () => {
    const { page, trouble } = await openPage();
    await signInWithGitHub(page, MEMBER);
    const { ingestUrl } = await createEndpoint(edge.url, `${receiver.url}/hostile`, { name: "hostile sender" });

    const body = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;
    const evil = "<script>window.__pwned=3</script>";
    const id = await postWebhook(ingestUrl, body, { "content-type": "text/html", "x-evil": evil });
    await page.goto(`/webhooks/${id}`);
    const payload = byTestId(page, "payload");
    await waitForAttribute(payload, "data-kind", "text");
    expect(await payload.innerText()).toBe(body);
    await byTestId(page, "payload-raw").click();
    await waitForAttribute(payload, "data-mode", "raw");
    expect(await payload.innerText()).toBe(body);
    const evilRow = byTestId(page, "header-row").filter({ hasText: "x-evil" });
    expect(await evilRow.innerText()).toContain(evil);
    // Unsigned: shown as not verified, with the reason.
    await waitForAttribute(byTestId(page, "signature"), "data-valid", "false");
    expect((await byTestId(page, "signature-reason").innerText()).length).toBeGreaterThan(0);
    // Nothing it carried became markup or ran.
    expect(await page.locator('[data-testid="payload"] script, [data-testid="payload"] img, [data-testid="headers"] script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
    await screenshot(page, "webhook-hostile");
    await byTestId(page, "nav-webhooks").click();
    await page.locator(`[data-testid="webhook-row"][data-webhook-id="${id}"]`).waitFor();
    expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(trouble.dialogs).toEqual([]);
    expect(trouble.errors).toEqual([]);
    expect(trouble.console.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
  });

  it("sends a visitor without a session to /signin and shows no API data", async () => {
    const { page, trouble } = await openPage();
    const apiAnswers: { url: string; status: number }[] = [];
    page.on("response", (res) => {
      if (/\/hookly\.[^/]+\.AdminService\/|\/api\//.test(res.url())) apiAnswers.push({ url: res.url(), status: res.status() });
    });
    await page.goto("/webhooks");
    await page.waitForURL((url) => url.pathname === "/signin");
    expect(new URL(page.url()).searchParams.get("next")).toBe("/webhooks");
    await byTestId(page, "signin-form").waitFor();
    await byTestId(page, "signin-github").waitFor();
    expect(await byTestId(page, "webhook-row").count()).toBe(0);
    expect(await byTestId(page, "nav-webhooks").count()).toBe(0);
    expect(apiAnswers.filter((a) => a.status === 200)).toEqual([]);
    await screenshot(page, "signin");
    expect(trouble.dialogs).toEqual([]);
  });

  it("sends a GitHub user who is neither an org member nor allowed to /denied", async () => {
    const { page } = await openPage();
    await signInWithGitHub(page, OUTSIDER);
    expect(new URL(page.url()).pathname).toBe("/denied");
    await byTestId(page, "denied").waitFor();
    expect(await byTestId(page, "denied-login").innerText()).toBe(OUTSIDER.login);
    await screenshot(page, "denied");
    // Still no session: the app sends them back to sign in.
    await page.goto("/webhooks");
    await page.waitForURL((url) => url.pathname === "/signin");
  });

  it("signs in with the admin token, after refusing a wrong one", async () => {
    const { page, trouble } = await openPage();
    await page.goto("/signin?next=%2Fsettings");
    await byTestId(page, "signin-token").fill("not-the-admin-token-0123456789");
    await byTestId(page, "signin-submit").click();
    await byTestId(page, "signin-error").waitFor();
    await screenshot(page, "signin-error");
    await byTestId(page, "signin-token").fill(TEST_SECRETS.ADMIN_TOKEN);
    await byTestId(page, "signin-submit").click();
    await page.waitForURL((url) => url.pathname === "/settings");
    expect(await byTestId(page, "setting-base-url").innerText()).toBe(edge.url);
    expect(await byTestId(page, "user").innerText()).toMatch(/\badmin\b/i);
    // The session survives a reload (it is a cookie, not page state).
    await page.reload();
    await byTestId(page, "settings").waitFor();
    expect(trouble.dialogs).toEqual([]);
    expect(trouble.errors).toEqual([]);
  });
  it("registers a hub and shows its credential once, adds a filtered destination, and shows deliveries per destination", async () => {
    const { page, trouble } = await openPage();
    await signInWithGitHub(page, MEMBER);

    // The Hubs page: the bootstrap hub is connected; its credential is HOME_HUB_SECRET, so it has no Rotate.
    await byTestId(page, "nav-hubs").click();
    await page.waitForURL("**/hubs");
    const home = page.locator('[data-testid="hub-row"][data-bootstrap="true"]');
    await waitForAttribute(home, "data-connected", "true");
    await byTestId(home, "bootstrap-badge").waitFor();
    await byTestId(home, "bootstrap-credential").waitFor();
    expect(await byTestId(home, "rotate-hub").count()).toBe(0);

    // A new hub: its credential is shown once, with the .env block and the compose service.
    await byTestId(page, "new-hub").click();
    const createDialog = byTestId(page, "new-hub-dialog");
    await byTestId(createDialog, "new-hub-name").fill("garage");
    await byTestId(createDialog, "create-hub").click();
    const credentialDialog = byTestId(page, "hub-credential-dialog");
    await credentialDialog.waitFor();
    const env = await byTestId(credentialDialog, "hub-env").innerText();
    expect(env).toContain("HUB_ID=hub_");
    expect(env).toContain("HUB_SECRET=");
    expect(env).toContain(`EDGE_URL=${edge.url}`);
    const hubId = /HUB_ID=(hub_\S+)/.exec(env)![1]!;
    const secret = /HUB_SECRET=(\S+)/.exec(env)![1]!;
    expect(secret.length).toBeGreaterThan(20);
    expect(await byTestId(credentialDialog, "hub-compose").innerText()).toContain(`HUB_SECRET: ${secret}`);
    expect(await byTestId(credentialDialog, "credential-warning").innerText()).toMatch(/shown once/i);
    await screenshot(page, "hub-credential");
    await byTestId(credentialDialog, "credential-done").click();
    await credentialDialog.waitFor({ state: "detached" });
    expect(await page.content()).not.toContain(secret);
    const garage = page.locator(`[data-testid="hub-row"][data-hub-id="${hubId}"]`);
    await garage.waitFor();
    expect(await byTestId(garage, "hub-name").innerText()).toBe("garage");
    expect(await garage.getAttribute("data-connected")).toBe("false");
    await expect.poll(() => byTestId(page, "hub-status").innerText(), { timeout: UI_MS }).toBe("1/2 hubs connected");

    // Rotation: a new credential, once; the old one stays valid until retired.
    await byTestId(garage, "rotate-hub").click();
    await byTestId(byTestId(page, "rotate-hub-dialog"), "confirm").click();
    await credentialDialog.waitFor();
    await byTestId(credentialDialog, "rotation-help").waitFor();
    const rotated = /HUB_SECRET=(\S+)/.exec(await byTestId(credentialDialog, "hub-env").innerText())![1]!;
    expect(rotated).not.toBe(secret);
    await byTestId(credentialDialog, "credential-done").click();
    await credentialDialog.waitFor({ state: "detached" });
    expect(await page.content()).not.toContain(rotated);
    await byTestId(garage, "rotation-badge").waitFor();
    await byTestId(garage, "retire-hub").click();
    await byTestId(byTestId(page, "retire-hub-dialog"), "confirm").click();
    await byTestId(garage, "rotation-badge").waitFor({ state: "detached" });
    await byTestId(garage, "rotate-hub").waitFor();
    await screenshot(page, "hubs");
    await expectFitsPhone(page, "hubs");

    // A second destination, on the connected hub, that only takes paid orders.
    const { id: endpointId, ingestUrl } = await createEndpoint(edge.url, `${receiver.url}/fan-out/all`, { name: "fan-out" });
    await page.goto(`/endpoints/${endpointId}`);
    const destinations = byTestId(page, "destinations");
    await expect.poll(() => byTestId(destinations, "destination-row").count(), { timeout: UI_MS }).toBe(1);
    await byTestId(destinations, "add-destination").click();
    const dialog = byTestId(page, "destination-dialog");
    await dialog.waitFor();
    await expect.poll(() => byTestId(dialog, "destination-hub").innerText(), { timeout: UI_MS }).toContain("home");
    await byTestId(dialog, "destination-hub").click();
    expect(await byTestId(page, "destination-hub-option").count()).toBe(2);
    await byTestId(page, "destination-hub-option").filter({ hasText: "home" }).click();
    await byTestId(dialog, "destination-url").fill(`${receiver.url}/fan-out/paid`);
    await byTestId(dialog, "destination-name").fill("paid only");
    await byTestId(dialog, "destination-event-types").fill("order.paid, invoice.*");
    await screenshot(page, "destination-dialog");
    await byTestId(dialog, "save-destination").click();
    await dialog.waitFor({ state: "detached" });
    await expect.poll(() => byTestId(destinations, "destination-row").count(), { timeout: UI_MS }).toBe(2);
    const paidOnly = byTestId(destinations, "destination-row").filter({ hasText: "paid only" });
    expect(await byTestId(paidOnly, "destination-filter").innerText()).toBe("event type order.paid, invoice.*");
    expect(await byTestId(paidOnly, "destination-hub-name").innerText()).toContain("home");
    expect(await byTestId(paidOnly, "destination-url").innerText()).toBe(`${receiver.url}/fan-out/paid`);
    await screenshot(page, "endpoint-destinations");
    await expectFitsPhone(page, "endpoint-destinations");

    // A paid order goes to both destinations; a refund only to the first, and is filtered at the second.
    const paid = JSON.stringify({ type: "order.paid", n: 1 });
    const refund = JSON.stringify({ type: "order.refunded", n: 2 });
    const paidId = await postWebhook(ingestUrl, paid);
    const refundId = await postWebhook(ingestUrl, refund);
    await receiver.waitFor(1, { filter: (r) => r.url === "/fan-out/paid" });
    await page.goto(`/webhooks/${paidId}`);
    expect(await byTestId(page, "webhook-event-type").innerText()).toBe("order.paid");
    const deliveries = byTestId(page, "delivery-row");
    await expect.poll(() => deliveries.count(), { timeout: UI_MS }).toBe(2);
    const statuses = () => byTestId(page, "delivery-status").evaluateAll((els) => els.map((e) => e.getAttribute("data-status")).sort());
    await expect.poll(statuses, { timeout: UI_MS }).toEqual(["delivered", "delivered"]);
    const rows = await deliveries.allInnerTexts();
    expect(rows.some((r) => r.includes("paid only") && r.includes("home"))).toBe(true);
    expect(rows.some((r) => r.includes(`${receiver.url}/fan-out/all`) && !r.includes("paid only"))).toBe(true);
    await expect.poll(() => byTestId(page, "attempt-group").count(), { timeout: UI_MS }).toBe(2);
    expect(await byTestId(page, "replay").innerText()).toContain("Replay to all");
    await screenshot(page, "webhook-deliveries");
    await expectFitsPhone(page, "webhook-deliveries");

    await page.goto(`/webhooks/${refundId}`);
    await expect.poll(() => deliveries.count(), { timeout: UI_MS }).toBe(2);
    await expect.poll(statuses, { timeout: UI_MS }).toEqual(["delivered", "filtered"]);
    // "Replay here" sends it to that destination whatever its filter says.
    const filtered = deliveries.filter({ has: page.locator('[data-testid="delivery-status"][data-status="filtered"]') });
    expect(await filtered.innerText()).toContain("paid only");
    const before = receiver.requests.filter((r) => r.url === "/fan-out/paid").length;
    await byTestId(filtered, "replay-destination").click();
    const replayDialog = byTestId(page, "replay-dialog");
    expect(await replayDialog.innerText()).toContain("paid only");
    await byTestId(replayDialog, "confirm").click();
    await byTestId(page, "replayed-link").waitFor();
    expect(await byTestId(page, "replay-result").innerText()).toContain("paid only");
    const arrived = await receiver.waitFor(before + 1, { filter: (r) => r.url === "/fan-out/paid" });
    expect(arrived.at(-1)!.body.toString()).toBe(refund);

    // The history shows each webhook's event type.
    await page.goto(`/webhooks?endpoint=${endpointId}`);
    await expect.poll(() => byTestId(page, "webhook-row").count(), { timeout: UI_MS }).toBe(3);
    expect((await byTestId(page, "event-type").allInnerTexts()).map((t) => t.trim()).sort()).toEqual(["order.paid", "order.refunded", "order.refunded"]);

    // The Status page lists both hubs.
    await byTestId(page, "nav-status").click();
    await page.waitForURL("**/status");
    await expect.poll(() => byTestId(byTestId(page, "hubs"), "hub-row").count(), { timeout: UI_MS }).toBe(2);
    await screenshot(page, "status-hubs");

    expect(trouble.dialogs).toEqual([]);
    expect(trouble.errors).toEqual([]);
    expect(trouble.console.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
  });
});
