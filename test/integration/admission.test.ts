/**
 * Ingest admission (#11) against a real edge on port 0, over raw sockets where
 * the test must see exactly what the edge sends and when: malformed paths are
 * 400, an unknown endpoint is answered before its body is sent, and the bytes
 * of bodies being received stay under INGEST_MAX_INFLIGHT_BYTES (503 with
 * Retry-After past it, nothing lost: the refused webhook is stored on retry).
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import { useCleanups } from "../cleanup.js";
import { TEST_SECRETS, adminClient, createEndpoint, postWebhook, waitUntil } from "../harness.js";

const scope = useCleanups();

/** A raw HTTP/1.1 connection: what arrived so far, and whether the edge closed it. */
async function rawConnection(url: string) {
  const { port } = new URL(url);
  const socket = net.connect(Number(port), "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let received = "";
  let closed = false;
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
  socket.on("error", () => undefined);
  socket.on("close", () => (closed = true));
  scope.cleanups.push(async () => socket.destroy());
  return {
    socket,
    received: () => received,
    closed: () => closed,
    /** Waits until what arrived matches `pattern`. */
    waitFor: (pattern: RegExp, what: string) => waitUntil(() => pattern.test(received), 5_000, what),
  };
}

const head = (path: string, host: string, headers: Record<string, string | number>) =>
  `POST ${path} HTTP/1.1\r\nHost: ${host}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`;

describe("ingest admission", () => {
  it("answers malformed percent-encoding with 400 and a JSON error, not 500", async () => {
    const edge = await scope.edge();
    const ingest = await fetch(`${edge.url}/h/%ZZ`, { method: "POST", body: "{}" });
    expect(ingest.status).toBe(400);
    expect(await ingest.json()).toMatchObject({ error: { code: "invalid_argument", message: expect.stringContaining("percent-encoding") } });
    const api = await fetch(`${edge.url}/api/endpoints/%E0%A4%A`, { headers: { authorization: `Bearer ${TEST_SECRETS.ADMIN_TOKEN}` } });
    expect(api.status).toBe(400);
    expect(await api.json()).toMatchObject({ error: { code: "invalid_argument" } });
  });

  it("answers an unknown endpoint with 404 before the body is sent, and tells a known one to go on", async () => {
    const edge = await scope.edge();
    const host = new URL(edge.url).host;
    const unknown = await rawConnection(edge.url);
    // 100 MiB announced, not one byte sent: the answer must not wait for it.
    unknown.socket.write(head("/h/ep_doesnotexist0000000000", host, { "content-length": 100 * 1024 * 1024, expect: "100-continue" }));
    await unknown.waitFor(/\r\n\r\n\{.*\}$/s, "the 404");
    expect(unknown.received()).toMatch(/^HTTP\/1\.1 404 /);
    expect(unknown.received()).not.toContain("100 Continue");
    expect(unknown.received()).toMatch(/connection: close/i);
    await waitUntil(() => unknown.closed(), 5_000, "the edge to close the connection of the unread 100 MiB");

    const ep = await createEndpoint(edge.url, "http://127.0.0.1:9/");
    const known = await rawConnection(edge.url);
    const body = JSON.stringify({ hello: "world" });
    known.socket.write(
      head(new URL(ep.ingestUrl).pathname, host, { "content-length": body.length, expect: "100-continue", "content-type": "application/json" }),
    );
    await known.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/, "100 Continue");
    known.socket.write(body);
    await known.waitFor(/HTTP\/1\.1 202 [\s\S]*"id":"wh_/, "the 202");
    const { webhooks } = await adminClient(edge.url).listWebhooks({ endpointId: ep.id });
    expect(webhooks).toHaveLength(1);
  });

  it("refuses a body that would pass INGEST_MAX_INFLIGHT_BYTES with 503 and Retry-After, and takes it once the others are stored", async () => {
    const MiB = 1024 * 1024;
    const edge = await scope.edge({ env: { INGEST_MAX_INFLIGHT_BYTES: String(MiB) } });
    const host = new URL(edge.url).host;
    const ep = await createEndpoint(edge.url, "http://127.0.0.1:9/");
    const path = new URL(ep.ingestUrl).pathname;

    // A slow upload holds 700 KiB of the 1 MiB: it has sent half its body and waits.
    const slowBody = Buffer.alloc(700 * 1024, "a");
    const slow = await rawConnection(edge.url);
    slow.socket.write(head(path, host, { "content-length": slowBody.length, "content-type": "application/octet-stream" }));
    slow.socket.write(slowBody.subarray(0, slowBody.length / 2));

    // Announced: refused before it is read.
    const second = Buffer.alloc(400 * 1024, "b");
    await waitUntil(async () => (await fetch(ep.ingestUrl, { method: "POST", body: "x" })).status === 202, 5_000, "the edge reading the slow upload");
    const refused = await fetch(ep.ingestUrl, { method: "POST", body: second });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("2");
    expect(await refused.json()).toMatchObject({ error: { code: "unavailable", message: expect.stringContaining("too many webhook bodies") } });

    // Unannounced (chunked): refused once what arrived passes the cap.
    const chunked = await rawConnection(edge.url);
    chunked.socket.write(head(path, host, { "transfer-encoding": "chunked" }));
    const chunk = Buffer.alloc(200 * 1024, "c");
    for (let i = 0; i < 3; i++) chunked.socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString("latin1")}\r\n`);
    await chunked.waitFor(/^HTTP\/1\.1 503 /, "the chunked upload refused");

    // The slow upload finishes and is stored; the refused webhook is taken when the provider retries.
    slow.socket.write(slowBody.subarray(slowBody.length / 2));
    await slow.waitFor(/^HTTP\/1\.1 202 /, "the slow upload stored");
    await postWebhook(ep.ingestUrl, second, { "content-type": "application/octet-stream" });
    const { webhooks } = await adminClient(edge.url).listWebhooks({ endpointId: ep.id });
    const sizes = webhooks.map((w) => Number(w.payloadSize)).sort((a, b) => a - b);
    expect(sizes.filter((n) => n > 1)).toEqual([second.length, slowBody.length]);
  });
});
