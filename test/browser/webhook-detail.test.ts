/**
 * The webhook detail page's tools in a real browser (Debian's Chromium through playwright-core),
 * against a real edge serving ui/build, a real hub and a recording LAN target: "Copy as curl"
 * (the copied command, run with the real curl, delivers the same body), the compare view of two
 * webhooks, the JSON viewer (a nested node opened, a long array paged, a cut preview loaded
 * further) and the headers table, each page at phone width. Screenshots go to test-output/screenshots/.
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hub } from "../../apps/hub/src/hub.js";
import { startReceiver, type Receiver } from "../fakes/receiver.js";
import { adminClient, createEndpoint, postWebhook, startHub, waitUntil, type TestEdge } from "../harness.js";
import { byTestId, expectFitsPhone, launchBrowser, screenshot, openPage, startUiEdge } from "./page.js";

/** How long the UI may take to show something the edge already knows. */
const UI_MS = 10_000;

let edge: TestEdge;
let hub: Hub;
let target: Receiver;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  target = await startReceiver();
  edge = await startUiEdge();
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

/** A page signed in with the admin token, allowed to use the clipboard, collecting page errors (CSP refusals too). */
async function signedIn(): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage(browser, edge, contexts, {
    timeoutMs: UI_MS,
    prepare: (context) => context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: edge.url }),
  });
  opened.page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) opened.errors.push(msg.text());
  });
  return opened;
}

/** Waits until the edge has the webhook delivered. */
async function delivered(id: string): Promise<void> {
  const admin = adminClient(edge.url);
  await waitUntil(async () => (await admin.getWebhook({ id })).webhook?.deliveredAt, UI_MS, `${id} delivered`);
}

/** The real curl binary, if this machine has one. */
function curlOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const file = join(dir, "curl");
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** At 390 px wide, the page itself does not scroll sideways (scrollWidth ≤ innerWidth). */
async function expectNoSidewaysScroll(page: Page, name: string): Promise<void> {
  await expectFitsPhone(page, name);
  await page.setViewportSize({ width: 390, height: 844 });
  const [scrollWidth, innerWidth] = await page.evaluate<[number, number]>("[document.documentElement.scrollWidth, innerWidth]");
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
  await page.setViewportSize({ width: 1280, height: 800 });
}

describe("webhook detail", () => {
  it("copies a curl command that, run with curl, delivers the same body, headers and query to the destination", async () => {
    const { ingestUrl } = await createEndpoint(edge.url, `${target.url}/hook`, { name: "curl target" });
    const body = `{"type":"order.paid","note":"it's \\"quoted\\" $(id) \`id\`","n":12345678901234567890}`;
    const id = await postWebhook(`${ingestUrl}?source=test&who=it%27s`, body, {
      "content-type": "application/json",
      "webhook-id": "msg_curl",
      authorization: "Bearer provider-secret",
      "x-note": "it's $(id)",
    });
    await delivered(id);
    const before = target.requests.length;

    const { page, errors } = await signedIn();
    await page.goto(`/webhooks/${id}`);
    await byTestId(page, "copy-as-curl").click();
    const dialog = byTestId(page, "curl-dialog");
    await dialog.waitFor();
    // The secret header is named, as something to fill in; the body is inline (whole, text).
    expect(await byTestId(dialog, "curl-redacted").innerText()).toContain("authorization");
    expect(await byTestId(dialog, "curl-body-file").count()).toBe(0);
    await screenshot(page, "webhook-curl-dialog");
    await byTestId(dialog, "copy-curl").click();
    await expect.poll(() => byTestId(dialog, "copy-curl").getAttribute("data-state")).toBe("copied");
    const copied = await page.evaluate<string>("navigator.clipboard.readText()");
    expect(copied).toBe(await byTestId(dialog, "curl-command").innerText());
    expect(copied).toMatch(/^curl '/);
    expect(copied).toContain("-H 'authorization: [redacted]'");
    expect(copied).not.toMatch(/-H '(host|content-length|x-hookly-[a-z-]+):/i);

    const curl = curlOnPath();
    if (!curl) {
      // No curl here: the text must still carry the body, quoted for the shell.
      expect(copied).toContain(`--data-raw '${body.replaceAll("'", "'\\''")}'`);
    } else {
      // As a person would: fill in the secret, then run it.
      const command = copied.replace("[redacted]", "Bearer filled-in");
      await promisify(execFile)("sh", ["-c", command], { timeout: 10_000 });
      const [sent] = (await target.waitFor(before + 1)).slice(before);
      expect(sent!.method).toBe("POST");
      expect(sent!.url).toBe("/hook?source=test&who=it%27s");
      expect(sent!.body.toString()).toBe(body);
      expect(sent!.headers["content-type"]).toBe("application/json");
      expect(sent!.headers["webhook-id"]).toBe("msg_curl");
      expect(sent!.headers["x-note"]).toBe("it's $(id)");
      expect(sent!.headers.authorization).toBe("Bearer filled-in");
    }
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(errors).toEqual([]);
  });

  it("compares a webhook with the previous one of its endpoint: the changed JSON path, and the headers", async () => {
    const { ingestUrl } = await createEndpoint(edge.url, `${target.url}/compare`, { name: "compared" });
    const first = await postWebhook(
      ingestUrl,
      JSON.stringify({ type: "invoice.paid", data: { object: { amount: 1200, currency: "eur", lines: [{ sku: "a" }] } } }),
      { "content-type": "application/json", "webhook-id": "msg_1", "x-old": "gone" },
    );
    const second = await postWebhook(
      ingestUrl,
      JSON.stringify({ type: "invoice.paid", data: { object: { amount: 1500, currency: "eur", lines: [{ sku: "a" }, { sku: "b" }] } } }),
      { "content-type": "application/json", "webhook-id": "msg_2" },
    );
    const { page, errors } = await signedIn();
    await page.goto(`/webhooks/${second}`);
    await byTestId(page, "compare-previous-link").click();
    // "previous" is resolved to the first webhook's id, in the address too.
    await page.waitForURL((url) => url.pathname === "/webhooks/compare" && url.searchParams.get("a") === first && url.searchParams.get("b") === second);
    expect(await byTestId(page, "compare-before").getAttribute("data-webhook-id")).toBe(first);
    expect(await byTestId(page, "compare-after").getAttribute("data-webhook-id")).toBe(second);

    const amount = page.locator('[data-testid="compare-json-change"][data-path="$.data.object.amount"]');
    await amount.waitFor();
    expect(await amount.getAttribute("data-change")).toBe("changed");
    expect(await byTestId(amount, "compare-json-before").innerText()).toBe("1200");
    expect(await byTestId(amount, "compare-json-after").innerText()).toBe("1500");
    const added = page.locator('[data-testid="compare-json-change"][data-path="$.data.object.lines[1]"]');
    expect(await added.getAttribute("data-change")).toBe("added");
    expect(await byTestId(added, "compare-json-after").innerText()).toBe('{"sku":"b"}');
    expect(await byTestId(page, "compare-json-change").count()).toBe(2);

    const header = (name: string) => page.locator(`[data-testid="compare-header-row"][data-name="${name}"]`);
    expect(await header("webhook-id").getAttribute("data-change")).toBe("changed");
    expect(await header("x-old").getAttribute("data-change")).toBe("removed");
    expect(await header("content-type").count()).toBe(0);
    await byTestId(page, "compare-headers-toggle-same").click();
    expect(await header("content-type").getAttribute("data-change")).toBe("same");
    await screenshot(page, "webhook-compare");
    await expectNoSidewaysScroll(page, "webhook-compare");

    // Another pair by id, typed into the form: the same webhook on both sides is identical.
    await byTestId(page, "compare-a").fill(second);
    await byTestId(page, "compare-submit").click();
    await page.waitForURL((url) => url.searchParams.get("a") === second);
    await byTestId(page, "compare-payload-identical").waitFor();
    await byTestId(page, "compare-headers-same").waitFor();
    expect(errors).toEqual([]);
  });

  it("shows a JSON body as a tree: a nested node opens, a long array is paged, and the text is the pretty JSON", async () => {
    const { ingestUrl } = await createEndpoint(edge.url, `${target.url}/tree`, { name: "tree" });
    const lines = Array.from({ length: 150 }, (_, i) => ({ id: `li_${i}`, price: { amount: i * 100, currency: "eur" } }));
    const body = JSON.stringify({ type: "invoice.paid", data: { object: { id: "in_1", lines } } });
    const id = await postWebhook(ingestUrl, body);
    const { page, errors } = await signedIn();
    await page.goto(`/webhooks/${id}`);
    const tree = byTestId(page, "payload");
    await expect.poll(() => tree.getAttribute("data-kind")).toBe("json");

    // Too large to open whole: the top levels are open, each line item closed.
    const row = (path: string) => page.locator(`[data-testid="json-row"][data-path='${path}']`).first();
    expect(await row("$.data.object.lines").getAttribute("data-expanded")).toBe("true");
    expect(await row("$.data.object.lines[0]").getAttribute("data-expanded")).toBe("false");
    expect(await row("$.data.object.lines[0].price").count()).toBe(0);
    await byTestId(row("$.data.object.lines[0]"), "json-toggle").click();
    await row("$.data.object.lines[0].price").waitFor();
    expect(await row("$.data.object.lines[0]").getAttribute("data-expanded")).toBe("true");
    await byTestId(row("$.data.object.lines[0].price"), "json-toggle").click();
    expect(await row("$.data.object.lines[0].price.amount").innerText()).toBe(`${" ".repeat(12)}"amount": 0,`);

    // A page of 100 items, then the rest on asking.
    expect(await row("$.data.object.lines[100]").count()).toBe(0);
    await byTestId(page, "json-more").click();
    await row("$.data.object.lines[149]").waitFor();
    expect(await byTestId(page, "json-more").count()).toBe(0);
    await screenshot(page, "webhook-json-tree");

    // Collapse all, then expand all: every line open (a page of items), and the viewer's text is the body pretty-printed.
    await byTestId(page, "json-collapse-all").click();
    expect(await row("$.data.object").count()).toBe(0);
    await byTestId(page, "json-expand-all").click();
    await row("$.data.object.lines[99].price.currency").waitFor();
    const firstPage = JSON.parse(body);
    firstPage.data.object.lines = firstPage.data.object.lines.slice(0, 100);
    // The 100th item keeps its comma (more follow), and a line offers the other 50.
    const expected = JSON.stringify(firstPage, null, 2).replace(/\n {8}\}\n {6}\]/, "\n        },\n        Show 50 more (50 not shown)\n      ]");
    expect(await tree.innerText()).toBe(expected);
    expect(errors).toEqual([]);
  });

  it("loads more of a body the preview cut, and says the viewer stops at 1 MiB", async () => {
    const { ingestUrl } = await createEndpoint(edge.url, `${target.url}/big`, { name: "big" });
    const items = Array.from({ length: 3000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["a", "b"] }));
    const body = JSON.stringify({ items });
    expect(body.length).toBeGreaterThan(64 * 1024);
    const id = await postWebhook(ingestUrl, body);
    const { page, errors } = await signedIn();
    await page.goto(`/webhooks/${id}`);
    await byTestId(page, "payload-partial").waitFor();
    expect(await byTestId(page, "payload").getAttribute("data-kind")).toBe("json");
    // The cut preview is still a tree, marked where it stops.
    await byTestId(page, "json-cut").first().waitFor();
    expect(await byTestId(page, "copy-payload").count()).toBe(0);
    await byTestId(page, "payload-load-more").click();
    await byTestId(page, "payload-partial").waitFor({ state: "detached" });
    expect(await byTestId(page, "json-cut").count()).toBe(0);
    await byTestId(page, "copy-payload").waitFor();
    expect(errors).toEqual([]);
  });

  it("shows a 10 MB JSON body from its first MiB at most, rendering only the lines that are open; curl reads it from a file", async () => {
    const { ingestUrl } = await createEndpoint(edge.url, `${target.url}/huge`, { name: "huge" });
    const items = Array.from({ length: 150_000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["a", "b"], nested: { ok: true } }));
    const body = JSON.stringify(items);
    expect(body.length).toBeGreaterThan(10 * 1024 * 1024 - 1);
    const id = await postWebhook(ingestUrl, body);
    const { page, errors } = await signedIn();
    await page.goto(`/webhooks/${id}`);
    await byTestId(page, "payload-partial").waitFor();
    await byTestId(page, "payload-load-more").click();
    // A MiB is loaded: no more is offered, the note says where the viewer stops and points to the download.
    await byTestId(page, "payload-load-more").waitFor({ state: "detached" });
    expect(await byTestId(page, "payload-partial").innerText()).toMatch(/Only the first 1\.0 MB of 10 MB is loaded.*no more than 1\.0 MB.*download/s);
    expect(await byTestId(page, "payload").getAttribute("data-kind")).toBe("json");
    // The root is open with a page of its items, each closed; the tree marks where the MiB stops.
    const rows = byTestId(page, "json-row");
    expect(await rows.count()).toBeLessThan(200);
    expect(await byTestId(page, "json-more").innerText()).toMatch(/^Show 100 more \([\d,]+ not shown\)$/);
    await byTestId(page, "json-cut").waitFor();
    await expect.poll(() => byTestId(page, "download-payload").getAttribute("href")).toBe(`/api/webhooks/${id}/payload`);

    // Copy as curl cannot put it inline: the command reads payload.bin, and the dialog links the download.
    await byTestId(page, "copy-as-curl").click();
    const dialog = byTestId(page, "curl-dialog");
    expect(await byTestId(dialog, "curl-body-file").getAttribute("data-reason")).toBe("partial");
    expect(await byTestId(dialog, "curl-download-payload").getAttribute("href")).toBe(`/api/webhooks/${id}/payload`);
    expect(await byTestId(dialog, "curl-command").innerText()).toMatch(/--data-binary @payload\.bin$/);
    expect(errors).toEqual([]);
  });

  it("shows every header, long values wrapped, and the detail page fits a phone", async () => {
    const { ingestUrl } = await createEndpoint(edge.url, `${target.url}/headers`, { name: "headers" });
    const headers: Record<string, string> = { "content-type": "application/json", "x-long-token": "t".repeat(700), cookie: "session=abc" };
    for (let i = 0; i < 20; i++) headers[`x-extra-${i}`] = `value ${i} ${"word ".repeat(i)}`;
    const id = await postWebhook(ingestUrl, JSON.stringify({ type: "many.headers", nested: { deep: { deeper: [1, 2, 3] } } }), headers);
    await delivered(id);
    const { webhook } = await adminClient(edge.url).getWebhook({ id });
    const { page, errors } = await signedIn();
    await page.goto(`/webhooks/${id}`);
    const rows = byTestId(page, "header-row");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(webhook!.headers.length);
    // No clipping box: the table is as tall as its rows, and the last row is on the page.
    const clipped = await byTestId(page, "headers").evaluate((table) => {
      // note: through the element's own window: the tests are type-checked without the DOM's globals.
      const view = table.ownerDocument.defaultView!;
      for (let el = table.parentElement; el && el !== table.ownerDocument.body; el = el.parentElement) {
        if (el.scrollHeight > el.clientHeight + 1 && view.getComputedStyle(el).overflowY !== "visible") return true;
      }
      return false;
    });
    expect(clipped).toBe(false);
    expect(await rows.last().isVisible()).toBe(true);
    expect(await byTestId(page, "headers-redacted-note").innerText()).toContain("cookie");
    await screenshot(page, "webhook-headers");
    await expectNoSidewaysScroll(page, "webhook-headers");
    // The long value wraps inside its cell at phone width.
    await page.setViewportSize({ width: 390, height: 844 });
    const cell = rows.filter({ hasText: "x-long-token" }).locator('[data-testid="header-value"]');
    const box = await cell.boundingBox();
    expect(box!.width).toBeLessThan(390);
    expect(box!.height).toBeGreaterThan(100);
    expect(errors).toEqual([]);
  });
});
