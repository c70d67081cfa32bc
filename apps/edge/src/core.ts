/**
 * What feature modules build on: the core services an extension receives
 * (`Core`), what it may plug in (`Extension`), and the settings the UI shows.
 * Types only, so features depend on this module and never on the composition
 * root (app.ts), which depends on them.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "@hookly/proto/gen/admin_pb";
import type { AuditService } from "./audit/audit.service.js";
import type { Authenticator } from "./auth/auth.service.js";
import type { QueueMonitor } from "./queue/queue.monitor.js";
import type { StatsService } from "./stats/stats.service.js";
import type { QueueControl } from "./queue/queue.service.js";
import type { Clock } from "./clock.js";
import type { EdgeConfig } from "./config.js";
import type { SecretBox } from "./crypto/secret-box.js";
import type { Db } from "./db/db.js";
import type { DestinationService } from "./destination/destination.service.js";
import type { EndpointService } from "./endpoint/endpoint.service.js";
import type { EdgeEvents } from "./events.js";
import type { HubService } from "./hub/hub.service.js";
import type { Logger } from "./logger.js";
import type { FinalFailure, HeldDestination, RelayService } from "./relay/relay.service.js";
import type { Route } from "./server/http.js";
import type { StorageService } from "./storage/storage.service.js";
import type { WebhookService } from "./webhook/webhook.service.js";

/** What a feature module (auth, MCP, alerts, metrics) can plug into the edge. */
export interface Extension {
  /** Extra ways to authenticate (sessions, API tokens), tried after the admin token. */
  authenticators?: Authenticator[];
  /** Extra HTTP routes, matched before the UI. */
  routes?: Route[];
  /** Extra AdminService methods (merged over the core ones). */
  adminRpc?: Partial<ServiceImpl<typeof AdminService>>;
  /** Called when a delivery finally fails (4xx or dead letter). */
  onFinalFailure?: (f: FinalFailure) => void;
  /** Called when a hub starts refusing a destination's URL (its queue waits). */
  onHeld?: (h: HeldDestination) => void;
  /** Called once listening. */
  start?: () => void | Promise<void>;
  /** Called at shutdown, before the database closes. */
  close?: () => void | Promise<void>;
  /** Changes to the read-only settings the UI shows. */
  settings?: Partial<Settings>;
}

/** The edge's core services, handed to extensions. */
export interface Core {
  config: EdgeConfig;
  db: Db;
  log: Logger;
  clock: Clock;
  events: EdgeEvents;
  box: SecretBox;
  endpoints: EndpointService;
  destinations: DestinationService;
  hubs: HubService;
  webhooks: WebhookService;
  relay: RelayService;
  /** The operator's actions on the queues (retry now, skip, cancel, bulk). */
  queue: QueueControl;
  /** The audit trail of those actions. */
  audit: AuditService;
  /** Which queues are stuck (their deliveries keep failing) or healthy. */
  monitor: QueueMonitor;
  /** The delivery charts' rollups. */
  stats: StatsService;
  /** Storage health: report storage errors of a write path here; read whether writes are refused. */
  storage: StorageService;
  /** The non-secret settings GetSettings reports (extensions' `settings` are merged in once all are built). */
  settings: Settings;
  /**
   * The API's composed authenticator (ADMIN_TOKEN, then the extensions'), for
   * extension routes that authenticate by themselves (e.g. /mcp). Call it only
   * while handling a request: it is bound once every extension is built.
   */
  authenticate: Authenticator;
}

/** Builds an extension from the core services. */
export type ExtensionFactory = (core: Core) => Extension;

/** Non-secret settings shown by GetSettings. */
export interface Settings {
  baseUrl: string;
  retentionDays: number;
  deadLetterAfterHours: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  maxPayloadBytes: number;
  githubSignIn: boolean;
  telegramAlerts: boolean;
  edgeVersion: string;
}
