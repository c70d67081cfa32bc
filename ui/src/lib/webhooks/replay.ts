import { ProviderType, type Endpoint, type Webhook } from "@hookly/proto/gen/admin_pb";

/**
 * Whether the edge can sign a replay of this endpoint's webhooks afresh: Stripe and Standard
 * Webhooks (generic) signatures carry a timestamp and the endpoint holds the secret; GitHub's have
 * no timestamp, and Telegram's header is a shared token.
 */
export function canResign(endpoint: Pick<Endpoint, "providerType" | "hasSignatureSecret"> | undefined): boolean {
  if (!endpoint?.hasSignatureSecret) return false;
  return endpoint.providerType === ProviderType.STRIPE || endpoint.providerType === ProviderType.GENERIC;
}

/**
 * How long receivers accept a signature's timestamp: Stripe's libraries and Standard Webhooks'
 * both default to 5 minutes. An older original is re-signed by default.
 */
export const SIGNATURE_TOLERANCE_MS = 5 * 60_000;

/** Which signature a replay was sent with; undefined for a webhook that is not a replay. */
export function replaySignature(w: Pick<Webhook, "replayOf" | "resigned">): { resigned: boolean; label: string } | undefined {
  if (!w.replayOf) return undefined;
  return w.resigned ? { resigned: true, label: "Re-signed" } : { resigned: false, label: "Original signature" };
}
