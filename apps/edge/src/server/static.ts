/**
 * Serves the built UI (SvelteKit adapter-static): files as they are,
 * precompressed .br/.gz when the client accepts them, index.html for client
 * routes. Immutable hashed assets are cached for a year, the rest revalidated.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { NodeRequest, NodeResponse } from "./http.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

/** Security headers for every UI response. */
export const UI_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "content-security-policy":
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https://avatars.githubusercontent.com; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
};

/** Returns a handler for GET/HEAD of the UI, or undefined when `dir` has no build. */
export function createStaticHandler(dir: string): ((req: NodeRequest, res: NodeResponse, path: string) => boolean) | undefined {
  const root = resolve(dir);
  if (!existsSync(join(root, "index.html"))) return undefined;
  return (req, res, path) => {
    let rel = normalize(decodeURIComponent(path)).replace(/^([/\\])+/, "");
    let file = join(root, rel);
    if (!file.startsWith(root + sep) && file !== root) return false;
    if (!rel || !existsSync(file) || !statSync(file).isFile()) {
      // note: client routes (/webhooks/wh_…) fall back to the SPA shell; missing assets stay 404.
      if (extname(rel) && !rel.endsWith(".html")) return false;
      rel = "index.html";
      file = join(root, rel);
    }
    const accept = String(req.headers["accept-encoding"] ?? "");
    let encoding: string | undefined;
    let served = file;
    if (/\bbr\b/.test(accept) && existsSync(`${file}.br`)) [encoding, served] = ["br", `${file}.br`];
    else if (/\bgzip\b/.test(accept) && existsSync(`${file}.gz`)) [encoding, served] = ["gzip", `${file}.gz`];
    const headers: Record<string, string | number> = {
      ...UI_HEADERS,
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "content-length": statSync(served).size,
      "cache-control": rel.includes("/immutable/") ? "public, max-age=31536000, immutable" : "no-cache",
      vary: "accept-encoding",
    };
    if (encoding) headers["content-encoding"] = encoding;
    (res as import("node:http").ServerResponse).writeHead(200, headers);
    if (req.method === "HEAD") res.end();
    else createReadStream(served).pipe(res as import("node:http").ServerResponse);
    return true;
  };
}
