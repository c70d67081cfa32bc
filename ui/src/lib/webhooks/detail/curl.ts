/**
 * "Copy as curl": a webhook as one curl command aimed at one of its destinations, to run by hand
 * against the LAN service. It sends what the hub would: the original method, the headers as
 * received less the hop-by-hop ones the hub drops, and the body, at the destination URL with the
 * webhook's query string. Secret headers cannot be copied (the edge shows them as "[redacted]"):
 * the command carries that placeholder and the caller says to fill them in.
 */

/** A header as the API gives it. */
export interface HeaderLike {
  name: string;
  value: string;
}

/** What the edge shows instead of a secret header's value. */
export const REDACTED = "[redacted]";

/** Bodies up to this size (UTF-8 text) go inline in the command; larger ones are read from a file (a command line has limits). */
export const INLINE_BODY_LIMIT = 64 * 1024;

/**
 * Headers curl must not be handed: hop-by-hop ones (RFC 9110 §7.6.1) and those it sets itself
 * from the URL and body; the same list the hub drops when it forwards (apps/hub forward.ts).
 */
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

/** The body as the command sends it. */
export type CurlBody =
  | { kind: "none" }
  | { kind: "inline"; text: string }
  /** Read from `file` (which the person downloads first); `reason` says why it is not inline. */
  | { kind: "file"; file: string; reason: "partial" | "binary" | "large" | "control" };

/**
 * How a body goes into the command: inline when it is UTF-8 text, all of it is at hand (the
 * edge's preview was not cut), it is at most {@link INLINE_BODY_LIMIT} and has no control
 * character a terminal would change on paste (a tab and a newline are fine); otherwise from
 * `file`.
 */
export function curlBody(payload: Uint8Array, size: number, file = "payload.bin"): CurlBody {
  if (size === 0) return { kind: "none" };
  if (payload.length < size) return { kind: "file", file, reason: "partial" };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(payload);
  } catch {
    return { kind: "file", file, reason: "binary" };
  }
  if (payload.length > INLINE_BODY_LIMIT) return { kind: "file", file, reason: "large" };
  // note: NUL cannot be in an argument at all; a CR pasted into a terminal becomes a newline.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) return { kind: "file", file, reason: "control" };
  return { kind: "inline", text };
}

/** The command and what the person must know before running it. */
export interface CurlCommand {
  command: string;
  /** Names of headers sent as "[redacted]": their values must be filled in. */
  redacted: string[];
  /** Names of received headers left out (hop-by-hop, or set by curl from the URL and body). */
  omitted: string[];
}

/**
 * Quotes a word for a POSIX shell (sh, bash, zsh): in single quotes, where nothing is special,
 * each `'` written as `'\''`. Safe for any text without NUL.
 */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** A word as it is when the shell would not change it (a method, a file name), else {@link shellQuote}d. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : shellQuote(word);
}

/** The destination URL with the webhook's query string added (as the edge does when it relays). */
export function destinationWithQuery(destination: string, query: string): string {
  if (!query) return destination;
  try {
    const url = new URL(destination);
    url.search = url.search ? `${url.search.slice(1)}&${query}` : query;
    return url.toString();
  } catch {
    return `${destination}${destination.includes("?") ? "&" : "?"}${query}`;
  }
}

/**
 * The curl command for a webhook sent to a destination: `method` and `headers` as received,
 * `destinationHeaders` (the destination's own, from its delivery policy) replacing those of the
 * same name as the relay does, the body as {@link curlBody} says, at `url` plus `query`.
 * One argument a line, each single-quoted.
 */
export function curlCommand(input: {
  method: string;
  url: string;
  query: string;
  headers: readonly HeaderLike[];
  destinationHeaders?: readonly HeaderLike[];
  body: CurlBody;
}): CurlCommand {
  const { body } = input;
  const method = input.method.toUpperCase() || "POST";
  const url = destinationWithQuery(input.url, input.query);
  const replaced = new Set((input.destinationHeaders ?? []).map((h) => h.name.toLowerCase()));
  const connectionNamed = new Set(
    input.headers.filter((h) => h.name.toLowerCase() === "connection").flatMap((h) => h.value.split(",").map((t) => t.trim().toLowerCase())),
  );
  const omitted: string[] = [];
  const sent: HeaderLike[] = [];
  for (const h of input.headers) {
    const lower = h.name.toLowerCase();
    if (replaced.has(lower)) continue;
    // note: the hub sets its own X-Hookly-* and never passes a provider's on.
    if (DROPPED.has(lower) || connectionNamed.has(lower) || lower.startsWith("x-hookly-")) {
      if (!omitted.some((n) => n.toLowerCase() === lower)) omitted.push(h.name);
      continue;
    }
    sent.push(h);
  }
  sent.push(...(input.destinationHeaders ?? []));

  const args: string[] = [];
  // note: curl reads [] and {} in a URL as a glob unless told not to.
  if (/[[\]{}]/.test(url)) args.push("--globoff");
  if (method === "HEAD") args.push("--head");
  else if (body.kind === "none" ? method !== "GET" : method !== "POST") args.push(`-X ${shellWord(method)}`);
  args.push(shellQuote(url));
  for (const h of sent) {
    // note: `-H 'Name:'` would remove the header; `Name;` sends it empty.
    args.push(`-H ${shellQuote(h.value === "" ? `${h.name};` : `${h.name}: ${h.value}`)}`);
  }
  if (body.kind !== "none" && !sent.some((h) => h.name.toLowerCase() === "content-type")) {
    // note: with a body and no Content-Type, curl would add application/x-www-form-urlencoded.
    args.push(`-H ${shellQuote("Content-Type:")}`);
  }
  // note: --data-raw sends the text as it is (no @file, no newline stripping); --data-binary @file reads the bytes as they are.
  if (body.kind === "inline") args.push(`--data-raw ${shellQuote(body.text)}`);
  else if (body.kind === "file") args.push(`--data-binary ${shellWord(`@${body.file}`)}`);

  const redacted = [...new Set(sent.filter((h) => h.value === REDACTED).map((h) => h.name))];
  return { command: `curl ${args.join(" \\\n  ")}`, redacted, omitted };
}
