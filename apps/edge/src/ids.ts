/**
 * Prefixed ids (`ep_…`, `wh_…`, `att_…`, `dlv_…`, `tok_…`) so logs read well and
 * ids of different things cannot be mixed up. nanoid's URL-safe alphabet,
 * 21 characters (~126 bits).
 */
import { nanoid } from "nanoid";

/** The kinds of id and their prefixes. */
export const ID_PREFIX = {
  endpoint: "ep_",
  webhook: "wh_",
  attempt: "att_",
  delivery: "dlv_",
  token: "tok_",
  stream: "str_",
  session: "ses_",
} as const;

/** A fresh id of the given kind. */
export function newId(kind: keyof typeof ID_PREFIX): string {
  return ID_PREFIX[kind] + nanoid();
}

/** Whether `value` looks like an id of this kind (prefix + nanoid alphabet). */
export function isId(kind: keyof typeof ID_PREFIX, value: string): boolean {
  return value.startsWith(ID_PREFIX[kind]) && /^[A-Za-z0-9_-]{10,64}$/.test(value.slice(ID_PREFIX[kind].length));
}
