/**
 * What the admin RPC and the REST routes share: the one mapping between the
 * protobuf enums and the lower-case strings stored in the database (which are
 * also the REST API's strings), the settings object, and the status snapshot.
 */
import { ProviderType, WebhookStatus } from "@hookly/proto/gen/admin_pb";
import type { Settings } from "../app.js";
import type { EndpointService } from "../endpoint/endpoint.service.js";
import type { RelayService } from "../relay/relay.service.js";
import type { ProviderType as ProviderName } from "../verify/verify.service.js";
import type { StatusCounts, WebhookService, WebhookStatusName } from "../webhook/webhook.service.js";

/** The edge's non-secret settings (built in app.ts). */
export type AdminSettings = Settings;

/** What the admin layers read from the relay. */
export type HubStatusSource = Pick<RelayService, "hubStatus">;

const PROVIDERS: [ProviderType, ProviderName][] = [
  [ProviderType.GENERIC, "generic"],
  [ProviderType.STRIPE, "stripe"],
  [ProviderType.GITHUB, "github"],
  [ProviderType.TELEGRAM, "telegram"],
];

const STATUSES: [WebhookStatus, WebhookStatusName][] = [
  [WebhookStatus.PENDING, "pending"],
  [WebhookStatus.DELIVERED, "delivered"],
  [WebhookStatus.FAILED, "failed"],
  [WebhookStatus.DEAD_LETTER, "dead_letter"],
];

/** The provider string of a protobuf ProviderType; undefined for UNSPECIFIED or unknown numbers. */
export function providerFromProto(p: ProviderType): ProviderName | undefined {
  return PROVIDERS.find(([e]) => e === p)?.[1];
}

/** The protobuf ProviderType of a provider string. */
export function providerToProto(p: ProviderName): ProviderType {
  return PROVIDERS.find(([, s]) => s === p)?.[0] ?? ProviderType.UNSPECIFIED;
}

/** The status string of a protobuf WebhookStatus; undefined for UNSPECIFIED or unknown numbers. */
export function statusFromProto(s: WebhookStatus): WebhookStatusName | undefined {
  return STATUSES.find(([e]) => e === s)?.[1];
}

/** The protobuf WebhookStatus of a status string. */
export function statusToProto(s: WebhookStatusName): WebhookStatus {
  return STATUSES.find(([, n]) => n === s)?.[0] ?? WebhookStatus.UNSPECIFIED;
}

/** One endpoint's queue on the status page. */
export interface QueueSnapshot {
  endpointId: string;
  name: string;
  depth: number;
  oldestPendingAt: number | null;
  muted: boolean;
}

/** Everything GetStatus and `GET /api/status` report. */
export interface StatusSnapshot {
  hub: ReturnType<RelayService["hubStatus"]>;
  queues: QueueSnapshot[];
  /** Webhooks received in the last 24 h, by current status. */
  last24h: StatusCounts;
  oldestPendingAt: number | null;
  edgeVersion: string;
}

/** Collects the status page: hub link, every endpoint's queue, last-24 h counts. */
export function statusSnapshot(deps: {
  endpoints: EndpointService;
  webhooks: WebhookService;
  relay: HubStatusSource;
  settings: AdminSettings;
}): StatusSnapshot {
  const stats = new Map(deps.webhooks.queueStats().map((q) => [q.endpointId, q]));
  return {
    hub: deps.relay.hubStatus(),
    queues: deps.endpoints.list().map((e) => ({
      endpointId: e.id,
      name: e.name,
      depth: stats.get(e.id)?.pending ?? 0,
      oldestPendingAt: stats.get(e.id)?.oldestPendingAt ?? null,
      muted: e.muted,
    })),
    last24h: deps.webhooks.counts(),
    oldestPendingAt: deps.webhooks.oldestPendingAt(),
    edgeVersion: deps.settings.edgeVersion,
  };
}
