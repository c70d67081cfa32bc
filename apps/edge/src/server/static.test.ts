/** The UI file server over a small build in a temp folder, through a real HTTP server on port 0. */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaticHandler, inlineScriptHashes, uiHeaders } from "./static.js";

/** The inline script a SvelteKit shell starts the app with, and its CSP hash. */
const BOOT = "\n  start({ base: '' });\n";
const BOOT_HASH = `'sha256-${createHash("sha256").update(BOOT).digest("base64")}'`;

let base: string;
let dir: string;
let server: http.Server;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookly-static-"));
  const build = join(dir, "build");
  mkdirSync(join(build, "_app", "immutable"), { recursive: true });
  writeFileSync(join(build, "index.html"), `<!doctype html><title>shell</title><script src="/_app/immutable/app.abc123.js"></script><script>${BOOT}</script>`);
  writeFileSync(join(build, "_app", "immutable", "app.abc123.js"), "console.log('plain');");
  writeFileSync(join(build, "_app", "immutable", "app.abc123.js.br"), brotliCompressSync("console.log('brotli');"));
  writeFileSync(join(build, "favicon.svg"), "<svg/>");
  writeFileSync(join(dir, "secret.txt"), "outside the build");
  const handler = createStaticHandler(build)!;
  server = http.createServer((req, res) => {
    if (!handler(req, res)) {
      res.writeHead(404);
      res.end("not the UI");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** GET (or `method`) `path` as raw bytes, without fetch's automatic decompression. */
function get(path: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("UI file server", () => {
  it("has nothing to serve without a build", () => {
    expect(createStaticHandler(join(dir, "nowhere"))).toBeUndefined();
  });

  it("answers client routes with the SPA shell, revalidated, with the security headers", async () => {
    for (const path of ["/", "/webhooks/wh_abc", "/endpoints/ep_1/"]) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
      expect(r.body.toString()).toContain("<title>shell</title>");
      expect(r.headers["content-type"]).toMatch(/^text\/html;\s*charset=utf-8$/);
      expect(r.headers["cache-control"]).toBe("no-cache");
      for (const [name, value] of Object.entries(uiHeaders([BOOT_HASH]))) expect(r.headers[name], name).toBe(value);
    }
  });

  it("allows the shell's own inline script by its hash, and no other inline script", async () => {
    const csp = String((await get("/")).headers["content-security-policy"]);
    const scriptSrc = /script-src ([^;]*)/.exec(csp)![1]!.split(" ");
    expect(scriptSrc).toEqual(["'self'", BOOT_HASH]);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(inlineScriptHashes("<script>a</script><script src=x></script><SCRIPT type=module>b</SCRIPT>")).toEqual(
      ["a", "b"].map((code) => `'sha256-${createHash("sha256").update(code).digest("base64")}'`),
    );
  });

  it("serves hashed assets for a year, precompressed when the client takes brotli", async () => {
    const plain = await get("/_app/immutable/app.abc123.js");
    expect(plain.body.toString()).toBe("console.log('plain');");
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(plain.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    const br = await get("/_app/immutable/app.abc123.js", { "accept-encoding": "gzip, br" });
    expect(br.headers["content-encoding"]).toBe("br");
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(br.body.equals(brotliCompressSync("console.log('brotli');"))).toBe(true);
  });

  it("answers 304 to a matching ETag and sends no body to HEAD", async () => {
    const first = await get("/favicon.svg");
    expect(first.headers.etag).toBeTruthy();
    expect((await get("/favicon.svg", { "if-none-match": String(first.headers.etag) })).status).toBe(304);
    const head = await get("/favicon.svg", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it("leaves missing assets to the caller (404) and never reads outside the build", async () => {
    expect((await get("/_app/immutable/missing.js")).status).toBe(404);
    expect((await get("/nope.css")).body.toString()).toBe("not the UI");
    for (const path of ["/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/%ZZ", "/%E0%A4%A"]) {
      const r = await get(path);
      expect(r.status, path).toBeLessThan(500);
      expect(r.body.toString(), path).not.toContain("outside the build");
    }
  });
});
