import { randomBytes } from "node:crypto";
import net from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../../../../test/fakes/receiver.js";
import { parseAllowedDestinations } from "./destinations.js";
import { createForwarder, parseRetryAfter, type ForwardRequest, type Forwarder } from "./forward.js";

function webhookAttempt(url: string, overrides: Partial<ForwardRequest> = {}): ForwardRequest {
  return {
    webhookId: "wh_1",
    endpointId: "ep_1",
    attempt: 1,
    method: "POST",
    url,
    headers: [{ name: "Content-Type", value: "application/json" }],
    body: Buffer.from('{"ok":true}'),
    signatureValid: true,
    timeoutMs: 5_000,
    ...overrides,
  };
}

/** Names the forwarder itself adds or rewrites; everything else must pass through untouched. */
const forwarderOwned = /^(host|content-length|connection|user-agent|x-hookly-.*)$/i;

function pairs(rawHeaders: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < rawHeaders.length; i += 2) out.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return out;
}

/** A port that was open a moment ago and is now closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("forwarder against a recording receiver", () => {
  let receiver: Receiver;
  let forwarder: Forwarder;

  beforeEach(async () => {
    receiver = await startReceiver();
    forwarder = createForwarder({ allowedDestinations: null });
  });
  afterEach(async () => {
    // Receiver first: its close() fails if the forwarder left a connection busy.
    await receiver.close();
    forwarder.close();
  });

  it("streams a body given in parts as they come, with the whole Content-Length, byte for byte", async () => {
    const whole = randomBytes(3 * 1024 * 1024);
    const parts = [whole.subarray(0, 65_536), whole.subarray(65_536, 2_000_000), whole.subarray(2_000_000)];
    const body = {
      size: whole.length,
      async *[Symbol.asyncIterator]() {
        for (const p of parts) {
          await new Promise((r) => setTimeout(r, 30));
          yield p;
        }
      },
    };
    const result = await forwarder.forward(webhookAttempt(receiver.url, { body, timeoutMs: 1_000 }));
    expect(result).toMatchObject({ outcome: "response", statusCode: 200 });
    const [got] = receiver.requests;
    expect(got?.headers["content-length"]).toBe(String(whole.length));
    expect(got?.body.equals(whole)).toBe(true);
  });

  it("a streamed body whose next part does not come in time is a timeout; one that fails is a connection error", async () => {
    const stalled = {
      size: 10,
      async *[Symbol.asyncIterator]() {
        yield Buffer.alloc(5);
        await new Promise((r) => setTimeout(r, 2_000));
        yield Buffer.alloc(5);
      },
    };
    const slow = await forwarder.forward(webhookAttempt(receiver.url, { body: stalled, timeoutMs: 300 }));
    expect(slow).toMatchObject({ outcome: "timeout", error: "the body's next part did not come within 300 ms" });
    const broken = {
      size: 10,
      async *[Symbol.asyncIterator]() {
        yield Buffer.alloc(5);
        throw new Error("stream to the edge ended mid-body");
      },
    };
    const failed = await forwarder.forward(webhookAttempt(receiver.url, { body: broken }));
    expect(failed).toMatchObject({ outcome: "connection_error", error: "body: stream to the edge ended mid-body" });
    expect(receiver.requests).toHaveLength(0);
  });

  it("delivers method, path and query, and a body with invalid UTF-8 byte for byte", async () => {
    const body = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x0d, 0x0a]);
    const result = await forwarder.forward(webhookAttempt(`${receiver.url}/hooks/stripe?x=1&y=%20z`, { method: "PUT", body }));
    expect(result).toMatchObject({ outcome: "response", statusCode: 200, error: "", responseExcerpt: "ok" });
    const [got] = receiver.requests;
    expect(got?.method).toBe("PUT");
    expect(got?.url).toBe("/hooks/stripe?x=1&y=%20z");
    expect(got?.body.equals(body)).toBe(true);
    expect(got?.headers["content-length"]).toBe(String(body.length));
  });

  it("delivers a 20 MB random body byte for byte", async () => {
    const body = randomBytes(20 * 1024 * 1024);
    const result = await forwarder.forward(webhookAttempt(`${receiver.url}/big`, { body, timeoutMs: 15_000 }));
    expect(result.outcome).toBe("response");
    expect(receiver.requests[0]?.body.equals(body)).toBe(true);
  });

  it("keeps header order, case and duplicates, including provider signatures", async () => {
    const headers = [
      { name: "content-type", value: "application/json" },
      { name: "X-GitHub-Event", value: "push" },
      { name: "x-custom", value: "a" },
      { name: "Stripe-Signature", value: "t=1,v1=abc" },
      { name: "X-CUSTOM", value: "b" },
      { name: "x-custom", value: "c" },
      { name: "Accept", value: "*/*" },
    ];
    await forwarder.forward(webhookAttempt(receiver.url, { headers }));
    const passedThrough = pairs(receiver.requests[0]!.rawHeaders).filter(([name]) => !forwarderOwned.test(name));
    expect(passedThrough).toEqual(headers.map(({ name, value }) => [name, value]));
  });

  it("drops hop-by-hop headers, Host and Content-Length, and sets its own", async () => {
    const headers = [
      { name: "Connection", value: "keep-alive, X-Secret-Hop" },
      { name: "X-Secret-Hop", value: "1" },
      { name: "Keep-Alive", value: "timeout=5" },
      { name: "Proxy-Connection", value: "keep-alive" },
      { name: "Proxy-Authenticate", value: "Basic" },
      { name: "Proxy-Authorization", value: "Basic Zm9vOmJhcg==" },
      { name: "TE", value: "trailers" },
      { name: "Trailer", value: "X-Checksum" },
      { name: "Transfer-Encoding", value: "chunked" },
      { name: "Upgrade", value: "websocket" },
      { name: "Host", value: "edge.example.com" },
      { name: "Content-Length", value: "999" },
      { name: "X-Kept", value: "yes" },
    ];
    const body = Buffer.from("hello");
    await forwarder.forward(webhookAttempt(receiver.url, { headers, body }));
    const got = receiver.requests[0]!;
    const names = pairs(got.rawHeaders).map(([name]) => name.toLowerCase());
    for (const dropped of [
      "x-secret-hop",
      "keep-alive",
      "proxy-connection",
      "proxy-authenticate",
      "proxy-authorization",
      "te",
      "trailer",
      "transfer-encoding",
      "upgrade",
    ]) {
      expect(names).not.toContain(dropped);
    }
    expect(got.headers.host).toBe(new URL(receiver.url).host);
    expect(got.headers["content-length"]).toBe("5");
    // Node's own keep-alive marker is the only Connection header left.
    expect(got.headers.connection).toBe("keep-alive");
    expect(got.headers["x-kept"]).toBe("yes");
    expect(got.body.toString()).toBe("hello");
  });

  it("adds X-Hookly-* and replaces spoofed ones", async () => {
    const headers = [
      { name: "X-Hookly-Verified", value: "true" },
      { name: "x-hookly-webhook-id", value: "wh_spoofed" },
      { name: "X-Hookly-Something-Else", value: "spoofed" },
    ];
    await forwarder.forward(webhookAttempt(receiver.url, { headers, signatureValid: false, webhookId: "wh_42", endpointId: "ep_7", attempt: 3 }));
    const hookly = pairs(receiver.requests[0]!.rawHeaders).filter(([name]) => /^x-hookly-/i.test(name));
    expect(hookly).toEqual([
      ["X-Hookly-Webhook-Id", "wh_42"],
      ["X-Hookly-Attempt", "3"],
      ["X-Hookly-Endpoint", "ep_7"],
      ["X-Hookly-Verified", "false"],
    ]);
  });

  it("sends the configured User-Agent only when the provider sent none", async () => {
    const own = createForwarder({ allowedDestinations: null, userAgent: "hookly-hub/test" });
    try {
      await own.forward(webhookAttempt(receiver.url, { headers: [] }));
      await own.forward(webhookAttempt(receiver.url, { headers: [{ name: "User-Agent", value: "GitHub-Hookshot/abc" }] }));
    } finally {
      own.close();
    }
    expect(receiver.requests.map((r) => r.headers["user-agent"])).toEqual(["hookly-hub/test", "GitHub-Hookshot/abc"]);
  });

  it("sends no Content-Length on a bodiless GET", async () => {
    await forwarder.forward(webhookAttempt(receiver.url, { method: "GET", body: new Uint8Array(0) }));
    expect(receiver.requests[0]?.method).toBe("GET");
    expect(receiver.requests[0]?.headers["content-length"]).toBeUndefined();
  });

  it.each([200, 201, 204, 400, 404, 410, 500, 502, 503])("reports status %i as a response", async (status) => {
    receiver.respondWith(status);
    const result = await forwarder.forward(webhookAttempt(receiver.url));
    expect(result).toMatchObject({ outcome: "response", statusCode: status, error: "", retryAfterSeconds: 0 });
  });

  it("does not follow redirects", async () => {
    receiver.respondWith(() => ({ status: 302, headers: { Location: `${receiver.url}/elsewhere` } }));
    const result = await forwarder.forward(webhookAttempt(receiver.url));
    expect(result).toMatchObject({ outcome: "response", statusCode: 302 });
    expect(receiver.requests).toHaveLength(1);
  });

  it("reads Retry-After as seconds", async () => {
    receiver.respondWith(() => ({ status: 429, headers: { "Retry-After": "120" }, body: "slow down" }));
    const result = await forwarder.forward(webhookAttempt(receiver.url));
    expect(result).toMatchObject({ outcome: "response", statusCode: 429, retryAfterSeconds: 120, responseExcerpt: "slow down" });
  });

  it("reads Retry-After as an HTTP-date relative to the injected clock", async () => {
    const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
    const clocked = createForwarder({ allowedDestinations: null, now: () => now });
    receiver.respondWith(() => ({ status: 503, headers: { "Retry-After": "Wed, 21 Oct 2015 07:30:00 GMT" } }));
    try {
      const result = await clocked.forward(webhookAttempt(receiver.url));
      expect(result).toMatchObject({ statusCode: 503, retryAfterSeconds: 120, startedAtMs: now, durationMs: 0 });
    } finally {
      clocked.close();
    }
  });

  it("keeps the first 512 characters of a long response body", async () => {
    receiver.respondWith(() => ({ status: 500, body: "é".repeat(600) + "😀".repeat(600) }));
    const result = await forwarder.forward(webhookAttempt(receiver.url));
    expect(result.responseExcerpt).toBe("é".repeat(512));
    // A surrogate pair straddling the limit is left out whole.
    receiver.respondWith(() => ({ status: 500, body: `${"x".repeat(511)}😀😀` }));
    const emoji = await forwarder.forward(webhookAttempt(receiver.url));
    expect(emoji.responseExcerpt).toBe("x".repeat(511));
  });

  it("times out when the destination answers too late", async () => {
    receiver.respondWith(() => ({ status: 200, delayMs: 2_000 }));
    const result = await forwarder.forward(webhookAttempt(receiver.url, { timeoutMs: 200 }));
    expect(result).toMatchObject({ outcome: "timeout", statusCode: 0 });
    expect(result.error).toContain("200 ms");
    expect(result.durationMs).toBeGreaterThanOrEqual(150);
    expect(result.durationMs).toBeLessThan(1_500);
  });

  it("stops on abort", async () => {
    receiver.respondWith(() => ({ status: 200, delayMs: 2_000 }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const result = await forwarder.forward(webhookAttempt(receiver.url), controller.signal);
    expect(result).toMatchObject({ outcome: "connection_error", error: "aborted", statusCode: 0 });
  });

  it("does not even connect when already aborted", async () => {
    const result = await forwarder.forward(webhookAttempt(receiver.url), AbortSignal.abort());
    expect(result).toMatchObject({ outcome: "connection_error", error: "aborted" });
    expect(receiver.connectionCount).toBe(0);
  });

  it("reuses one keep-alive connection for consecutive attempts", async () => {
    await forwarder.forward(webhookAttempt(receiver.url));
    await forwarder.forward(webhookAttempt(receiver.url, { attempt: 2 }));
    await forwarder.forward(webhookAttempt(`${receiver.url}/other`, { webhookId: "wh_2" }));
    expect(receiver.requests).toHaveLength(3);
    expect(receiver.connectionCount).toBe(1);
    expect(new Set(receiver.requests.map((r) => r.remotePort)).size).toBe(1);
  });

  it("reports a TLS failure as a connection error", async () => {
    const result = await forwarder.forward(webhookAttempt(receiver.url.replace("http:", "https:")));
    expect(result.outcome).toBe("connection_error");
    expect(result.error).not.toBe("");
    expect(receiver.requests).toHaveLength(0);
  });

  it("refuses destinations outside the allowlist without any traffic", async () => {
    const guarded = createForwarder({ allowedDestinations: parseAllowedDestinations("nas.home.lan,192.168.1.0/24") });
    try {
      const result = await guarded.forward(webhookAttempt(`${receiver.url}/hook`));
      expect(result).toMatchObject({ outcome: "destination_not_allowed", statusCode: 0 });
      expect(result.error).toContain("127.0.0.1");
    } finally {
      guarded.close();
    }
    expect(receiver.connectionCount).toBe(0);
  });

  it("forwards to destinations inside the allowlist", async () => {
    const guarded = createForwarder({ allowedDestinations: parseAllowedDestinations("127.0.0.0/8") });
    try {
      expect((await guarded.forward(webhookAttempt(receiver.url))).outcome).toBe("response");
    } finally {
      guarded.close();
    }
  });
});

describe("forwarder without a receiver", () => {
  let forwarder: Forwarder;
  beforeEach(() => {
    forwarder = createForwarder({ allowedDestinations: null });
  });
  afterEach(() => forwarder.close());

  it("reports a refused connection", async () => {
    const port = await closedPort();
    const result = await forwarder.forward(webhookAttempt(`http://127.0.0.1:${port}/hook`));
    expect(result).toMatchObject({
      outcome: "connection_error",
      statusCode: 0,
      error: `connect ECONNREFUSED 127.0.0.1:${port}`,
    });
  });

  it.each([
    ["not a url", "does not parse"],
    ["ftp://127.0.0.1/hook", "ftp:"],
    ["file:///etc/passwd", "file:"],
  ])("calls %j invalid", async (url, why) => {
    const result = await forwarder.forward(webhookAttempt(url));
    expect(result.outcome).toBe("invalid");
    expect(result.error).toContain(why);
  });

  it("calls a header Node cannot send invalid", async () => {
    const port = await closedPort();
    const result = await forwarder.forward(webhookAttempt(`http://127.0.0.1:${port}/`, { headers: [{ name: "bad name", value: "x" }] }));
    expect(result.outcome).toBe("invalid");
    expect(result.error).toContain("bad name");
  });

  it("measures with the injected clock", async () => {
    let tick = 1_000;
    const clocked = createForwarder({
      allowedDestinations: null,
      now: () => {
        tick += 250;
        return tick - 250;
      },
    });
    try {
      const result = await clocked.forward(webhookAttempt("not a url"));
      expect(result).toMatchObject({ startedAtMs: 1_000, durationMs: 250 });
    } finally {
      clocked.close();
    }
  });
});

/**
 * A raw HTTP/1.1 server that answers keep-alive requests with 200, except that
 * the n-th request it reads (counting from 1) is answered with a TCP reset.
 */
async function startResettingServer(resetRequest: number) {
  let seen = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const headerEnd = buffered.indexOf("\r\n\r\n");
      if (headerEnd === -1) return;
      const length = Number(/content-length: *(\d+)/i.exec(buffered.subarray(0, headerEnd).toString())?.[1] ?? 0);
      if (buffered.length < headerEnd + 4 + length) return;
      buffered = Buffer.alloc(0);
      seen++;
      if (seen === resetRequest) socket.resetAndDestroy();
      else socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    stats: () => ({ seen, connections }),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("forwarder on a pooled socket the destination reset", () => {
  it("retries once on a fresh connection", async () => {
    const destination = await startResettingServer(2);
    const forwarder = createForwarder({ allowedDestinations: null });
    try {
      expect((await forwarder.forward(webhookAttempt(destination.url))).outcome).toBe("response");
      const second = await forwarder.forward(webhookAttempt(destination.url));
      expect(second).toMatchObject({ outcome: "response", statusCode: 200, responseExcerpt: "ok" });
      expect(destination.stats()).toEqual({ seen: 3, connections: 2 });
    } finally {
      forwarder.close();
      await destination.close();
    }
  });

  it("does not retry a reset on a fresh connection", async () => {
    const destination = await startResettingServer(1);
    const forwarder = createForwarder({ allowedDestinations: null });
    try {
      const result = await forwarder.forward(webhookAttempt(destination.url));
      expect(result.outcome).toBe("connection_error");
      expect(result.error).toMatch(/ECONNRESET|socket hang up/);
      expect(destination.stats()).toEqual({ seen: 1, connections: 1 });
    } finally {
      forwarder.close();
      await destination.close();
    }
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
  it.each([
    [undefined, 0],
    ["", 0],
    ["0", 0],
    ["120", 120],
    [" 30 ", 30],
    ["-5", 0],
    ["1.5", 0],
    ["soon", 0],
    ["2024", 2024],
    ["99999999999999999999", 0],
    ["Wed, 21 Oct 2015 07:30:00 GMT", 120],
    ["Wed, 21 Oct 2015 07:28:00 GMT", 0],
    ["Tue, 20 Oct 2015 07:28:00 GMT", 0],
    ["Wed, 21 Oct 2015 07:28:01 GMT", 1],
    ["Wednesday, 21-Oct-15 07:29:00 GMT", 60],
    ["Wed Oct 21 07:29:00 2015", 60],
    ["Wed, garbage", 0],
  ])("%j → %i", (value, seconds) => {
    expect(parseRetryAfter(value, now)).toBe(seconds);
  });
});
