/**
 * The provider's own id of a webhook, which its retries repeat: what opt-in
 * deduplication (an endpoint's dedup window) compares. Pure.
 *
 * - Stripe: the event's `id` (evt_…) in the JSON body;
 * - GitHub: `X-GitHub-Delivery`;
 * - Standard Webhooks (`generic`): `webhook-id`;
 * - Telegram: the update's `update_id`.
 *
 * Undefined when the webhook carries none (it is then never a duplicate).
 */
import type { ProviderType } from "../verify/verify.service.js";

/** The window an endpoint gets when deduplication is turned on without one. */
export const DEFAULT_DEDUP_WINDOW_MS = 10 * 60_000;
/** The longest window accepted (retries of every provider here stop within days). */
export const MAX_DEDUP_WINDOW_MS = 7 * 24 * 3_600_000;

/** The dedup key of a webhook, or undefined. Keys longer than 200 characters are not keys. */
export function dedupKeyOf(input: { provider: ProviderType; header: (name: string) => string | undefined; json: () => unknown }): string | undefined {
  let key: unknown;
  switch (input.provider) {
    case "stripe":
      key = field(input.json(), "id");
      break;
    case "github":
      key = input.header("x-github-delivery");
      break;
    case "generic":
      key = input.header("webhook-id");
      break;
    case "telegram": {
      const id = field(input.json(), "update_id");
      key = typeof id === "number" && Number.isSafeInteger(id) ? String(id) : undefined;
      break;
    }
  }
  return typeof key === "string" && key !== "" && key.length <= 200 ? key : undefined;
}

function field(json: unknown, name: string): unknown {
  return json !== null && typeof json === "object" && !Array.isArray(json) ? (json as Record<string, unknown>)[name] : undefined;
}
