import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
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
