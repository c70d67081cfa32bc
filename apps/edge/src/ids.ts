/**
 * Prefixed ids (`ep_…`, `wh_…`, `att_…`, `hub_…`, `dst_…`, `tok_…`) so logs read well and
 * ids of different things cannot be mixed up. 21 URL-safe characters after
 * the prefix.
 *
 * Webhook and attempt ids are written at ingest rate into unique indexes, so
 * they start with the time (8 base-62 characters of milliseconds, sortable as
 * ASCII) followed by 13 random nanoid characters (~77 bits): new keys land on
 * the index's last page instead of a random one, which keeps each group
 * commit's WAL writes small. Other ids are 21 random characters (~126 bits).
 */
import { nanoid } from "nanoid";
import { AppError } from "./errors.js";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Milliseconds as 8 base-62 characters whose ASCII order is numeric order. */
export function sortableTime(ms: number): string {
  let n = Math.max(0, Math.floor(ms));
  let out = "";
  for (let i = 0; i < 8; i++) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

const TIME_ORDERED = new Set(["webhook", "attempt"]);

/** The kinds of id and their prefixes. */
export const ID_PREFIX = {
  endpoint: "ep_",
  webhook: "wh_",
  attempt: "att_",
  delivery: "dlv_",
  token: "tok_",
  stream: "str_",
  session: "ses_",
  hub: "hub_",
  destination: "dst_",
  oauthClient: "mcpc_",
} as const;

/** A fresh id of the given kind. */
export function newId(kind: keyof typeof ID_PREFIX, nowMs: number = Date.now()): string {
  return ID_PREFIX[kind] + (TIME_ORDERED.has(kind) ? sortableTime(nowMs) + nanoid(13) : nanoid());
}

/** Whether `value` looks like an id of this kind (prefix + nanoid alphabet). */
export function isId(kind: keyof typeof ID_PREFIX, value: string): boolean {
  return value.startsWith(ID_PREFIX[kind]) && /^[A-Za-z0-9_-]{9,64}$/.test(value.slice(ID_PREFIX[kind].length));
}

const NAMES: Record<keyof typeof ID_PREFIX, string> = {
  endpoint: "an endpoint",
  webhook: "a webhook",
  attempt: "an attempt",
  delivery: "a delivery",
  token: "a token",
  stream: "a stream",
  session: "a session",
  hub: "a hub",
  destination: "a destination",
  oauthClient: "an OAuth client",
};

/**
 * Checks an id given as an argument before it is looked up: invalid_argument
 * (naming `field`) when it is not even of this kind — no prefix — so a
 * mix-up says so; an id of the right kind that names nothing is for the
 * lookup to answer (not_found), however it is spelled after its prefix.
 */
export function checkIdKind(kind: keyof typeof ID_PREFIX, value: string, field: string): void {
  if (!value.startsWith(ID_PREFIX[kind])) {
    throw new AppError("invalid_argument", `${field} ${JSON.stringify(value)} is not ${NAMES[kind]} id (${ID_PREFIX[kind]}…)`);
  }
}
