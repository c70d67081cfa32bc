/**
 * Signing a replay afresh (issue #13): a LAN service that checks Stripe's or
 * Standard Webhooks' timestamp tolerance (5 minutes) rejects every replay
 * older than that when it carries the provider's original signature. On
 * request, a replay of a `stripe` or `generic` endpoint's webhook is signed
 * again with the endpoint's own secret and the current time, exactly as the
 * provider would sign it (tested against `stripe` and `standardwebhooks`).
 *
 * GitHub signatures carry no timestamp (a replay verifies as is), and
 * Telegram's header is a shared token, not a signature: neither is re-signed.
 */
import { createHmac } from "node:crypto";
import type { ProviderType } from "./verify.service.js";

/** The providers whose replays can be re-signed. */
export const RESIGNABLE_PROVIDERS: readonly ProviderType[] = ["stripe", "generic"];

/** Why a replay cannot be re-signed, or undefined when it can. */
export function cannotResign(provider: ProviderType, secrets: readonly string[]): string | undefined {
  if (!RESIGNABLE_PROVIDERS.includes(provider)) {
    return `${provider} webhooks are not re-signed: ${provider === "github" ? "their signature has no timestamp, so a replay verifies as it is" : "their header is a shared token, not a signature"}`;
  }
  if (secrets.length === 0) return "the endpoint has no signature secret to sign with";
  if (provider === "generic" && standardKey(secrets[0]!) === undefined)
    return "the endpoint's first secret is not a Standard Webhooks key (base64, optionally prefixed whsec_)";
  return undefined;
}

/** The HMAC key of a Standard Webhooks secret: base64 after an optional `whsec_`. */
function standardKey(secret: string): Buffer | undefined {
  const encoded = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const key = Buffer.from(encoded, "base64");
  return key.length > 0 ? key : undefined;
}

/**
 * The headers of a re-signed replay: `headers` (opened, in order) with the
 * provider's signature headers replaced, signed with `secret` at
 * `nowSeconds` over `body` (read in parts, any size). The Standard Webhooks
 * `webhook-id` is kept (it is the message's id, for the receiver's
 * idempotency); a missing one is added. Call only when {@link cannotResign}
 * says it can.
 */
export async function resignHeaders(
  provider: ProviderType,
  secret: string,
  headers: readonly [string, string][],
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  nowSeconds: number,
  fallbackId: string,
): Promise<[string, string][]> {
  const t = String(Math.floor(nowSeconds));
  const find = (name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1];
  /** `out` with the first `name` header set to `value` (any repeats of it dropped), or it appended. */
  const set = (out: [string, string][], name: string, value: string): [string, string][] => {
    const lower = name.toLowerCase();
    const i = out.findIndex(([n]) => n.toLowerCase() === lower);
    if (i === -1) return [...out, [name, value]];
    const next: [string, string][] = [];
    out.forEach(([n, v], j) => {
      if (j === i) next.push([n, value]);
      else if (n.toLowerCase() !== lower) next.push([n, v]);
    });
    return next;
  };
  if (provider === "stripe") {
    // note: Stripe keys the HMAC with the whole secret string, whsec_ prefix included.
    const mac = createHmac("sha256", secret).update(`${t}.`);
    for await (const part of body) mac.update(part);
    return set([...headers], "Stripe-Signature", `t=${t},v1=${mac.digest("hex")}`);
  }
  const key = standardKey(secret);
  if (!key) throw new Error("not a Standard Webhooks key");
  const id = find("webhook-id")?.trim() || fallbackId;
  const mac = createHmac("sha256", key).update(`${id}.${t}.`);
  for await (const part of body) mac.update(part);
  let out = set([...headers], "webhook-id", id);
  out = set(out, "webhook-timestamp", t);
  return set(out, "webhook-signature", `v1,${mac.digest("base64")}`);
}
