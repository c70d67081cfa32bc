import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AppError, ERROR_ANSWERS } from "../errors.js";
import { readBody, sendJson } from "./http.js";
import { waitUntil } from "../../../../test/harness.js";
import { createDualServer, type DualServer } from "./listener.js";

let server: DualServer | undefined;
afterEach(async () => {
  await server?.close(100);
  server = undefined;
});

describe("dual-protocol listener shutdown", () => {
  it("closes a keep-alive connection that was busy when shutdown began, right after its response", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    server = createDualServer((_req, res) => {
      void gate.then(() => res.end("done"));
    });
    const port = await server.listen(0, "127.0.0.1");
    const agent = new http.Agent({ keepAlive: true });
    const response = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
        })
        .on("error", reject);
    });
    // the request is in the handler, its connection busy
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const closed = server.close(10_000);
    release();
    expect(await response).toEqual({ status: 200, connection: "close", body: "done" });
    await closed;
    server = undefined;
    // note: without `Connection: close` the socket would linger until the 10 s grace destroyed it.
    expect(Date.now() - started).toBeLessThan(2_000);
    agent.destroy();
  });
});

describe("dual-protocol listener deadlines", () => {
  /** A raw TCP connection to `port`; resolves how long it stayed open, from now. */
  async function openFor(port: number, send: Buffer | string | undefined): Promise<number> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise<void>((r) => socket.once("connect", r));
    const started = Date.now();
    socket.on("error", () => undefined);
    if (send !== undefined) socket.write(send);
    await new Promise((r) => socket.once("close", r));
    return Date.now() - started;
  }

  it("closes a connection that does not say which protocol it speaks within the sniffing deadline", async () => {
    server = createDualServer((_req, res) => res.end("ok"), { sniffTimeoutMs: 200 });
    const port = await server.listen(0, "127.0.0.1");
    for (const send of [undefined, "PRI * HTTP/2.0\r\n"]) {
      const ms = await openFor(port, send);
      expect(ms, JSON.stringify(send)).toBeGreaterThanOrEqual(150);
      expect(ms, JSON.stringify(send)).toBeLessThan(5_000);
    }
    // A connection that has spoken is no longer on the sniffing clock.
    const agent = new http.Agent({ keepAlive: true });
    const get = () =>
      new Promise<string>((resolve, reject) =>
        http
          .get({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d));
            res.on("end", () => resolve(body));
          })
          .on("error", reject),
      );
    expect(await get()).toBe("ok");
    await new Promise((r) => setTimeout(r, 400));
    expect(await get()).toBe("ok");
    agent.destroy();
  });

  it("closes an HTTP/2 session that opens no stream, keeps one while a stream is open, then closes it once idle", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    server = createDualServer(
      (_req, res) => {
        void gate.then(() => res.end("done"));
      },
      { h2IdleSessionMs: 200 },
    );
    const port = await server.listen(0, "127.0.0.1");

    // The preface and nothing else.
    const silent = http2.connect(`http://127.0.0.1:${port}`);
    silent.on("error", () => undefined);
    const silentStarted = Date.now();
    await new Promise((r) => silent.once("close", r));
    expect(Date.now() - silentStarted).toBeLessThan(5_000);

    // A stream held open for well past the idle deadline (as the hub's is), then ended.
    const busy = http2.connect(`http://127.0.0.1:${port}`);
    busy.on("error", () => undefined);
    let closedAt: number | undefined;
    busy.once("close", () => (closedAt = Date.now()));
    const req = busy.request({ ":path": "/", ":method": "GET" });
    let body = "";
    req.on("data", (d: Buffer) => (body += d));
    const ended = new Promise((r) => req.once("end", r));
    await new Promise((r) => setTimeout(r, 800));
    expect(closedAt, "a session with an open stream is kept").toBeUndefined();
    release();
    await ended;
    expect(body).toBe("done");
    await waitUntil(() => closedAt !== undefined, 5_000, "the idle session closed");
  });
});

describe("request bodies that stop arriving", () => {
  it("answers 408 to a body that stalls, on HTTP/1.1 and HTTP/2", async () => {
    server = createDualServer((req, res) => {
      readBody(req, 1024 * 1024, { idleTimeoutMs: 200 }).then(
        (b) => sendJson(res, 200, { size: b.length }),
        (err: unknown) => sendJson(res, err instanceof AppError ? ERROR_ANSWERS[err.code].http : 500, { error: String(err) }),
      );
    });
    const port = await server.listen(0, "127.0.0.1");

    // HTTP/1.1: 10 of 1000 announced bytes, then nothing.
    const h1 = net.connect(port, "127.0.0.1");
    let h1Got = "";
    h1.on("data", (d: Buffer) => (h1Got += d));
    h1.write("POST /h/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789");
    await waitUntil(() => /^HTTP\/1\.1 408 /.test(h1Got), 5_000, "the 408");
    expect(h1Got).toContain("the body stopped arriving");
    h1.destroy();

    // HTTP/2: a stream that sends a chunk and stalls.
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => undefined);
    const req = session.request({ ":path": "/h/x", ":method": "POST" });
    req.on("error", () => undefined);
    req.write("0123456789");
    const status = await new Promise<number>((r) => req.once("response", (h) => r(Number(h[":status"]))));
    expect(status).toBe(408);
    session.destroy();

    // A body that keeps arriving is read whole.
    const ok = await fetch(`http://127.0.0.1:${port}/h/x`, { method: "POST", body: "x".repeat(5000) });
    expect(await ok.json()).toEqual({ size: 5000 });
  });
});

describe("connections per source", () => {
  it("closes a source's connections past the cap at once, reports it once, and takes new ones as others close", async () => {
    const refused: [string, number][] = [];
    server = createDualServer((_req, res) => res.end("ok"), {
      maxConnectionsPerSource: 3,
      onConnectionRefused: (source, open) => refused.push([source, open]),
    });
    const port = await server.listen(0, "127.0.0.1");
    const connect = async () => {
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => undefined);
      await new Promise<void>((r) => s.once("connect", r));
      return s;
    };
    const held = [await connect(), await connect(), await connect()];
    const closedAt = async (s: net.Socket) =>
      new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), 500);
        s.once("close", () => {
          clearTimeout(t);
          r(true);
        });
      });
    const fourth = await connect();
    const fifth = await connect();
    expect(await closedAt(fourth)).toBe(true);
    expect(await closedAt(fifth)).toBe(true);
    expect(refused).toEqual([["127.0.0.1", 3]]);
    // The held ones still work.
    held[0]!.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise<void>((r) => held[0]!.once("data", () => r()));
    // One closes: a new connection is taken.
    held[1]!.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const again = await connect();
    expect(await closedAt(again)).toBe(false);
    for (const s of [...held, again]) s.destroy();
  });
});
