/**
 * SQL for the alerts outbox (migration 004_alerts.sql; kinds added by 006 and
 * 007). Statements are prepared once; callers get typed rows with their JSON
 * details parsed.
 */
import type { Db } from "../db/db.js";

/** Details of one webhook's final failure. */
export interface WebhookFailedAlert {
  kind: "webhook_failed";
  endpointId: string;
  /** The endpoint's name when the failure happened (it may be renamed or deleted later). */
  endpointName: string;
  webhookId: string;
  /** Where it failed, and what kind of event it was (absent in rows from before destinations). */
  destinationId?: string;
  eventType?: string | null;
  status: "failed" | "dead_letter";
  /** The destination's HTTP status; 0 when none (dead letter, connection error). */
  statusCode: number;
  error: string;
  attempts: number;
}

/** The hub has been disconnected longer than HUB_DOWN_ALERT_AFTER_MS. */
export interface HubDownAlert {
  kind: "hub_down";
  /** When it disconnected (ms). */
  since: number;
  /** The hub's id, and its name and what waited for it when the alert was made. */
  hubId: string;
  hubName?: string;
  queued?: number;
}

/** The hub is connected again after a down alert. */
export interface HubUpAlert {
  kind: "hub_up";
  /** When it had disconnected (ms). */
  downSince: number;
  hubId: string;
  hubName?: string;
  queued?: number;
}

/** A hub refuses a destination's URL (HUB_ALLOWED_DESTINATIONS): its queue waits. */
export interface DestinationHeldAlert {
  kind: "destination_held";
  destinationId: string;
  endpointId: string;
  endpointName: string;
  hubId: string;
  url: string;
  error: string;
}

/** An outage of the database's storage started (storage.service.ts: "storage.changed" with degraded). */
export interface StorageDegradedAlert {
  kind: "storage_degraded";
  /** When the outage started (ms, real time: the storage service's clock). */
  since: number;
  /** The storage service's one-line summary, e.g. "storage full: 0 MB free; ingest refused since …". */
  summary: string;
}

/** The storage outage ended. */
export interface StorageRecoveredAlert {
  kind: "storage_recovered";
  /** When the outage started and ended (ms, real time). */
  since: number;
  at: number;
}

/** What a queue alert says of its destination (queue.health.ts). */
interface QueueAlertFields {
  endpointId: string;
  endpointName: string;
  destinationId: string;
  /** The destination's name, or its URL when it has none. */
  destinationName: string;
  /** Webhooks pending at the destination when the alert was made. */
  waiting: number;
}

/** A destination's deliveries have kept failing for STUCK_ALERT_AFTER_MS or STUCK_ALERT_AFTER_ATTEMPTS. */
export interface QueueStuckAlert extends QueueAlertFields {
  kind: "queue_stuck";
  /** When it became stuck. */
  at: number;
  /** The failing webhook at its head (the last one that failed). */
  webhookId: string;
  eventType: string | null;
  failingSince: number;
  attempts: number;
  statusCode: number;
  error: string;
  responseExcerpt: string | null;
}

/** A stuck destination delivered again. */
export interface QueueRecoveredAlert extends QueueAlertFields {
  kind: "queue_recovered";
  stuckSince: number;
  at: number;
}

/** What an outbox row reports. */
export type AlertData =
  | WebhookFailedAlert
  | HubDownAlert
  | HubUpAlert
  | DestinationHeldAlert
  | StorageDegradedAlert
  | StorageRecoveredAlert
  | QueueStuckAlert
  | QueueRecoveredAlert;

/** A row to write: what `insert` takes. */
export interface NewAlert {
  groupKey: string;
  createdAt: number;
  dueAt: number;
  data: AlertData;
}

/** An outbox row. */
export type AlertRow = {
  id: number;
  groupKey: string;
  createdAt: number;
  dueAt: number;
} & AlertData;

/** The due, unsent failures of one endpoint: what one grouped message reports. */
export interface FailureGroup {
  endpointId: string;
  /** How many failures the group holds. */
  count: number;
  /** The first few, oldest first. */
  sample: (AlertRow & WebhookFailedAlert)[];
  /** Highest row id in the group: marking sent stops there, so rows added meanwhile are kept. */
  maxId: number;
}

interface Row {
  id: number;
  kind: AlertData["kind"];
  group_key: string;
  created_at: number;
  due_at: number;
  data: string;
}

const toRow = (r: Row): AlertRow =>
  ({ ...(JSON.parse(r.data) as object), kind: r.kind, id: r.id, groupKey: r.group_key, createdAt: r.created_at, dueAt: r.due_at }) as AlertRow;

/** Group key of the hub's rows. */
export const HUB_GROUP = "hub";

/** Group key of the storage rows. */
export const STORAGE_GROUP = "storage";

/** Group key of the stuck and recovered queue rows: a storm of them is one message. */
export const QUEUES_GROUP = "queues";

/** Group key of one hub's down/back alerts (the bootstrap hub keeps the key of the single-hub days). */
export function hubGroup(hubId: string, bootstrap: boolean): string {
  return bootstrap ? HUB_GROUP : `hub:${hubId}`;
}

/** Outbox persistence. */
export type AlertStore = ReturnType<typeof createAlertStore>;

/** Prepares the outbox statements. */
export function createAlertStore(db: Db) {
  const insert = db.prepare<[string, string, number, number, string]>(`INSERT INTO alert (kind, group_key, created_at, due_at, data) VALUES (?, ?, ?, ?, ?)`);
  const openWindow = db.prepare<[string, number], { due: number | null }>(
    `SELECT max(due_at) AS due FROM alert
     WHERE group_key = ? AND sent_at IS NULL AND kind = 'webhook_failed' AND due_at > ?`,
  );
  const nextDue = db.prepare<[number], Row>(`SELECT * FROM alert WHERE sent_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT 1`);
  const groupStats = db.prepare<[string, number], { n: number; max_id: number | null }>(
    `SELECT count(*) AS n, max(id) AS max_id FROM alert
     WHERE group_key = ? AND sent_at IS NULL AND kind = 'webhook_failed' AND due_at <= ?`,
  );
  const groupSample = db.prepare<[string, number, number], Row>(
    `SELECT * FROM alert
     WHERE group_key = ? AND sent_at IS NULL AND kind = 'webhook_failed' AND due_at <= ?
     ORDER BY id LIMIT ?`,
  );
  const markGroupSent = db.prepare<[number, string, number, number]>(
    `UPDATE alert SET sent_at = ?
     WHERE group_key = ? AND sent_at IS NULL AND kind = 'webhook_failed' AND due_at <= ? AND id <= ?`,
  );
  const markSent = db.prepare<[number, number]>(`UPDATE alert SET sent_at = ? WHERE id = ? AND sent_at IS NULL`);
  const dueRows = db.prepare<[string, number, number], Row>(`SELECT * FROM alert WHERE group_key = ? AND sent_at IS NULL AND due_at <= ? ORDER BY id LIMIT ?`);
  const markRowsSent = db.prepare<[number, string, number, number]>(
    `UPDATE alert SET sent_at = ? WHERE group_key = ? AND sent_at IS NULL AND due_at <= ? AND id <= ?`,
  );
  const openGroupWindow = db.prepare<[string, number], { due: number | null }>(
    `SELECT max(due_at) AS due FROM alert WHERE group_key = ? AND sent_at IS NULL AND due_at > ?`,
  );
  const lastInGroup = db.prepare<[string], Row>(`SELECT * FROM alert WHERE group_key = ? ORDER BY id DESC LIMIT 1`);
  const purge = db.prepare<[number]>(`DELETE FROM alert WHERE sent_at IS NOT NULL AND sent_at < ?`);
  const unsentCount = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM alert WHERE sent_at IS NULL`);
  const add = (a: NewAlert): number => {
    const { kind, ...rest } = a.data;
    return Number(insert.run(kind, a.groupKey, a.createdAt, a.dueAt, JSON.stringify(rest)).lastInsertRowid);
  };
  const addAll = db.transaction((rows: readonly NewAlert[]) => {
    for (const r of rows) add(r);
  });

  return {
    /** Adds a row; returns its id. Throws what SQLite throws (SQLITE_FULL, SQLITE_READONLY…). */
    insert(a: NewAlert): number {
      return add(a);
    },
    /** Adds rows in one transaction, in order: all of them or, when it throws, none. */
    insertAll(rows: readonly NewAlert[]): void {
      addAll(rows);
    },
    /** due_at of the endpoint's group window still open at `now` (unsent and not yet due), if any. */
    openWindowDueAt(endpointId: string, now: number): number | undefined {
      return openWindow.get(endpointId, now)?.due ?? undefined;
    },
    /** The oldest unsent row due at `now`. */
    nextDue(now: number): AlertRow | undefined {
      const r = nextDue.get(now);
      return r && toRow(r);
    },
    /** The endpoint's unsent failures due at `now`, with the first `sampleSize` of them. */
    failureGroup(endpointId: string, now: number, sampleSize: number): FailureGroup | undefined {
      const stats = groupStats.get(endpointId, now);
      if (!stats || stats.n === 0 || stats.max_id === null) return undefined;
      return {
        endpointId,
        count: stats.n,
        maxId: stats.max_id,
        sample: groupSample.all(endpointId, now, sampleSize).map(toRow) as FailureGroup["sample"],
      };
    },
    /** Marks a group sent (rows up to `maxId` only). */
    markGroupSent(g: Pick<FailureGroup, "endpointId" | "maxId">, dueBy: number, sentAt: number): void {
      markGroupSent.run(sentAt, g.endpointId, dueBy, g.maxId);
    },
    /** A group's unsent rows due at `now`, oldest first (at most `limit`), whatever their kind. */
    dueRows(groupKey: string, now: number, limit: number): AlertRow[] {
      return dueRows.all(groupKey, now, limit).map(toRow);
    },
    /** Marks a group's due rows up to `maxId` sent. */
    markRowsSent(groupKey: string, dueBy: number, maxId: number, sentAt: number): void {
      markRowsSent.run(sentAt, groupKey, dueBy, maxId);
    },
    /** due_at of a group's window still open at `now` (any kind), if any. */
    openGroupWindowDueAt(groupKey: string, now: number): number | undefined {
      return openGroupWindow.get(groupKey, now)?.due ?? undefined;
    },
    /** Marks one row sent. */
    markSent(id: number, sentAt: number): void {
      markSent.run(sentAt, id);
    },
    /** The newest hub row: a "hub_down" one means a down alert awaits its "back" alert. */
    lastHub(groupKey: string = HUB_GROUP): (AlertRow & (HubDownAlert | HubUpAlert)) | undefined {
      const r = lastInGroup.get(groupKey);
      return r && (toRow(r) as AlertRow & (HubDownAlert | HubUpAlert));
    },
    /** The newest storage row: a "storage_degraded" one means an outage was reported and its end was not. */
    lastStorage(): (AlertRow & (StorageDegradedAlert | StorageRecoveredAlert)) | undefined {
      const r = lastInGroup.get(STORAGE_GROUP);
      return r && (toRow(r) as AlertRow & (StorageDegradedAlert | StorageRecoveredAlert));
    },
    /** Deletes rows sent before `before`; returns how many. */
    purgeSent(before: number): number {
      return purge.run(before).changes;
    },
    /** Rows not yet sent (for tests and diagnostics). */
    unsentCount(): number {
      return unsentCount.get()?.n ?? 0;
    },
  };
}
