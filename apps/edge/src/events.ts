/**
 * In-process change notifications: the dispatcher wakes on them and the UI's
 * WatchEvents stream forwards them. Fire-and-forget; listeners must not throw.
 */
import { EventEmitter } from "node:events";
import type { QueueHealth } from "./queue/queue.health.js";

/** Every event the edge publishes. */
export interface EdgeEventMap {
  /** A webhook was stored (ingest or replay). */
  "webhook.received": {
    endpointId: string;
    webhookId: string;
    /** Its arrival position (webhook seq). */
    seq: number;
    /** Destinations it was queued for. */
    destinationIds: string[];
    /** Set by ingest (absent for replays): whether the provider signature checked out. */
    signatureValid?: boolean;
  };
  /**
   * Webhooks queued for these destinations were committed, their fsync maybe
   * still running (so "webhook.received" has not fired yet): the dispatcher
   * may start on them.
   */
  "webhook.committed": { destinationIds: Set<string> };
  /** A webhook's status or attempts changed. */
  "webhook.updated": {
    endpointId: string;
    webhookId: string;
    /** The delivery's status (pending, delivered, failed, dead_letter). */
    status: string;
    destinationId?: string;
    hubId?: string;
    /** Set by the dispatcher when an attempt settles or the webhook is dead-lettered (for metrics). */
    delivery?: DeliveryNote;
  };
  /** An endpoint was created, changed or deleted. */
  "endpoint.changed": { endpointId: string; deleted?: boolean };
  /** A hub connected or disconnected. */
  "hub.changed": { hubId: string; connected: boolean };
  /** A hub was created, renamed or revoked. */
  "hub.registry": { hubId: string; revoked?: boolean };
  /** A destination was created, changed or deleted. */
  "destination.changed": { endpointId: string; destinationId: string; deleted?: boolean };
  /**
   * Storage health changed: an outage started (`degraded`) or ended, or the
   * probe found the disk writable again (`writable`: whatever waits on it may try now).
   */
  "storage.changed": { degraded: boolean; writable: boolean };
  /** A destination's queue became stuck (its deliveries keep failing) or recovered (queue/queue.monitor.ts). */
  "queue.health": { destinationId: string; endpointId: string; change: "stuck" | "recovered"; health: QueueHealth; at: number };
  /** Ingest committed a group of webhooks in one transaction (for metrics). */
  "ingest.batch": { size: number; ms: number };
}

/** How one delivery attempt (or the dead-letter deadline) settled a webhook. */
export interface DeliveryNote {
  outcome: "delivered" | "failed" | "retry" | "dead_letter";
  /** When the webhook arrived (ms since epoch), if the dispatcher knew it. */
  receivedAt?: number;
}

/** A typed event bus. */
export class EdgeEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // note: one listener per open UI stream; hundreds are legitimate.
    this.emitter.setMaxListeners(0);
  }

  emit<K extends keyof EdgeEventMap>(type: K, event: EdgeEventMap[K]): void {
    this.emitter.emit(type, event);
  }

  on<K extends keyof EdgeEventMap>(type: K, listener: (event: EdgeEventMap[K]) => void): () => void {
    this.emitter.on(type, listener);
    return () => this.emitter.off(type, listener);
  }
}
