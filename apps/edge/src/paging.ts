/**
 * Keyset paging tokens of the admin lists (webhooks, audit): the last
 * position shown, opaque to callers.
 */
import { AppError } from "./errors.js";

/** Encodes a page token: base64url of the last seq shown. Opaque to callers. */
export function encodePageToken(seq: number): string {
  return Buffer.from(String(seq), "utf8").toString("base64url");
}

/** Decodes a page token; invalid_argument when it is not one of ours. */
export function decodePageToken(token: string): number {
  const text = /^[A-Za-z0-9_-]{1,24}$/.test(token) ? Buffer.from(token, "base64url").toString("utf8") : "";
  const seq = /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(seq) || encodePageToken(seq) !== token) {
    throw new AppError("invalid_argument", "page_token is not valid (pass next_page_token of the previous page)");
  }
  return seq;
}
