/**
 * Serves the built UI (SvelteKit adapter-static) through sirv: the file list is
 * read once at start (no stat per request), precompressed .br/.gz are sent when
 * the client accepts them, ETags answer 304, malformed paths are not an error,
 * and client routes (/webhooks/wh_…) get index.html while a missing asset (a
 * path with an extension) stays 404. Hashed assets under /_app/immutable/ are
 * cached for a year, the rest revalidated; every response carries uiHeaders,
 * whose CSP allows index.html's own inline script by its hash.
 * note: a UI rebuilt while the edge runs is seen after a restart (the list is read at start).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { join, resolve } from "node:path";
import sirv from "sirv";
import type { NodeRequest, NodeResponse } from "./http.js";

/**
 * The SHA-256 CSP sources ('sha256-…') of the inline scripts of a page: the
 * one SvelteKit writes into index.html to start the app. Allowing exactly
 * these, instead of 'unsafe-inline', keeps any other inline script (an
 * injected one) from running.
 */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script(?![^>]*\bsrc\s*=)[^>]*>([\s\S]*?)<\/script>/gi)].map(
    (m) => `'sha256-${createHash("sha256").update(m[1]!, "utf8").digest("base64")}'`,
  );
}

/** Security headers for every UI response; `scriptHashes` from {@link inlineScriptHashes} of index.html. */
export function uiHeaders(scriptHashes: readonly string[]): Record<string, string> {
  return {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    // note: styles keep 'unsafe-inline' (Svelte sets style attributes); scripts run only from the edge or by hash.
    "content-security-policy": `default-src 'self'; script-src 'self'${scriptHashes.map((h) => ` ${h}`).join("")}; style-src 'self' 'unsafe-inline'; img-src 'self' data: https://avatars.githubusercontent.com; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'`,
  };
}

/** Text types sirv names without a charset; the UI's files are UTF-8. */
const TEXT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json; charset=utf-8",
};

/** Returns a handler for GET/HEAD of the UI (true when it answered), or undefined when `dir` has no build. */
export function createStaticHandler(dir: string): ((req: NodeRequest, res: NodeResponse) => boolean) | undefined {
  const root = resolve(dir);
  const index = join(root, "index.html");
  if (!existsSync(index)) return undefined;
  const headers = uiHeaders(inlineScriptHashes(readFileSync(index, "utf8")));
  const serve = sirv(root, {
    single: true,
    brotli: true,
    gzip: true,
    etag: true,
    setHeaders(res, pathname) {
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      res.setHeader("cache-control", pathname.startsWith("/_app/immutable/") ? "public, max-age=31536000, immutable" : "no-cache");
      const type = TEXT_TYPES[pathname.slice(pathname.lastIndexOf("."))];
      if (type) res.setHeader("content-type", type);
    },
  });
  return (req, res) => {
    let served = true;
    // note: sirv calls next synchronously when nothing matches; the caller then answers 404 itself.
    serve(req as import("node:http").IncomingMessage, res as ServerResponse, () => {
      served = false;
    });
    return served;
  };
}
