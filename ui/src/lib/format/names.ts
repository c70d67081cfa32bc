import { DeliveryStatus, ProviderType, WebhookStatus } from "@hookly/proto/gen/admin_pb";

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

/**
 * Webhook states as they appear in filters and in the URL (`?status=dead_letter`). A webhook's
 * state sums up its deliveries: `partial` when delivered to some destinations and failed or
 * dead-lettered at others, `filtered` when no destination took it.
 */
export const STATUSES: ReadonlyArray<{ value: WebhookStatus; slug: string; label: string }> = [
  { value: WebhookStatus.PENDING, slug: "pending", label: "Pending" },
  { value: WebhookStatus.DELIVERED, slug: "delivered", label: "Delivered" },
  { value: WebhookStatus.PARTIAL, slug: "partial", label: "Partial" },
  { value: WebhookStatus.FAILED, slug: "failed", label: "Failed" },
  { value: WebhookStatus.DEAD_LETTER, slug: "dead_letter", label: "Dead letter" },
  { value: WebhookStatus.FILTERED, slug: "filtered", label: "Filtered" },
];

/**
 * Where one webhook stands at one destination: the webhook states a delivery can have (all but
 * `partial`), with the same slugs and labels.
 */
export const DELIVERY_STATUSES: ReadonlyArray<{ value: DeliveryStatus; slug: string; label: string }> = STATUSES.flatMap(({ slug, label }) => {
  const value = DeliveryStatus[slug.toUpperCase() as keyof typeof DeliveryStatus];
  return value === undefined ? [] : [{ value, slug, label }];
});

/** How a state's badge looks, by slug: green when delivered, amber while waiting or partial, red when failed. */
export type StatusTone = "success" | "warning" | "destructive" | "secondary" | "outline";

/** The badge tone of a webhook or delivery state slug. */
export function statusTone(slug: string): StatusTone {
  switch (slug) {
    case "delivered":
      return "success";
    case "pending":
    case "partial":
      return "warning";
    case "failed":
    case "dead_letter":
      return "destructive";
    case "filtered":
      return "secondary";
    default:
      return "outline";
  }
}

/** Name of a webhook state for a person. */
export function statusLabel(status: WebhookStatus): string {
  return STATUSES.find((s) => s.value === status)?.label ?? "Unknown";
}

/** The URL slug of a webhook state (`pending`, `dead_letter`, …). */
export function statusSlug(status: WebhookStatus): string {
  return STATUSES.find((s) => s.value === status)?.slug ?? "unknown";
}

/** Name of a delivery state for a person. */
export function deliveryStatusLabel(status: DeliveryStatus): string {
  return DELIVERY_STATUSES.find((s) => s.value === status)?.label ?? "Unknown";
}

/** The slug of a delivery state (`pending`, `filtered`, …). */
export function deliveryStatusSlug(status: DeliveryStatus): string {
  return DELIVERY_STATUSES.find((s) => s.value === status)?.slug ?? "unknown";
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
