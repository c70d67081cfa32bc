import { ProviderType, WebhookStatus } from "@hookly/proto/gen/admin_pb";

/** Provider types a person can pick, with what their signature secret looks like. */
export const PROVIDERS: ReadonlyArray<{
  value: ProviderType;
  slug: string;
  label: string;
  secretHint: string;
  secretPlaceholder: string;
}> = [
  {
    value: ProviderType.GENERIC,
    slug: "generic",
    label: "Generic (Standard Webhooks)",
    secretHint: "The whsec_… signing secret (webhook-signature header).",
    secretPlaceholder: "whsec_…",
  },
  {
    value: ProviderType.STRIPE,
    slug: "stripe",
    label: "Stripe",
    secretHint: "The endpoint's whsec_… signing secret from the Stripe dashboard.",
    secretPlaceholder: "whsec_…",
  },
  {
    value: ProviderType.GITHUB,
    slug: "github",
    label: "GitHub",
    secretHint: "The secret you entered in the GitHub webhook settings.",
    secretPlaceholder: "The webhook's secret",
  },
  {
    value: ProviderType.TELEGRAM,
    slug: "telegram",
    label: "Telegram",
    secretHint: "The secret_token you passed to setWebhook.",
    secretPlaceholder: "The secret_token of setWebhook",
  },
];

/** Short name of a provider type for tables. */
export function providerLabel(type: ProviderType): string {
  switch (type) {
    case ProviderType.GENERIC:
      return "Generic";
    case ProviderType.STRIPE:
      return "Stripe";
    case ProviderType.GITHUB:
      return "GitHub";
    case ProviderType.TELEGRAM:
      return "Telegram";
    default:
      return "Unknown";
  }
}

/** Webhook states as they appear in filters and in the URL (`?status=dead_letter`). */
export const STATUSES: ReadonlyArray<{ value: WebhookStatus; slug: string; label: string }> = [
  { value: WebhookStatus.PENDING, slug: "pending", label: "Pending" },
  { value: WebhookStatus.DELIVERED, slug: "delivered", label: "Delivered" },
  { value: WebhookStatus.FAILED, slug: "failed", label: "Failed" },
  { value: WebhookStatus.DEAD_LETTER, slug: "dead_letter", label: "Dead letter" },
];

/** Name of a webhook state for a person. */
export function statusLabel(status: WebhookStatus): string {
  return STATUSES.find((s) => s.value === status)?.label ?? "Unknown";
}

/** The URL slug of a webhook state (`pending`, `dead_letter`, …). */
export function statusSlug(status: WebhookStatus): string {
  return STATUSES.find((s) => s.value === status)?.slug ?? "unknown";
}

/** What an attempt's outcome code means, for a person. */
export function outcomeLabel(outcome: string): string {
  switch (outcome) {
    case "response":
      return "Response";
    case "timeout":
      return "Timed out";
    case "connection_error":
      return "Connection error";
    case "destination_not_allowed":
      return "Destination not allowed";
    case "invalid":
      return "Invalid";
    default:
      return outcome || "—";
  }
}
