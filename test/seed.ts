/**
 * A large history for the list and status paths: `rows` webhooks over 30 days
 * across four endpoints, inserted in one transaction straight into SQLite (the
 * ingest path would take minutes). Shared by the unit test that checks what
 * those paths answer and the bench that measures how fast they answer.
 *
 * Every tenth webhook is pending (the queue depth is rows / 10); of the rest,
 * 80 % delivered, 5 % failed, 5 % dead-lettered; one in ten is unverified.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ProviderType, WebhookStatus } from "@hookly/proto/gen/admin_pb";
import type { WebhookStatusName } from "../apps/edge/src/webhook/webhook.store.js";
import type { BuiltEdge, TestClock } from "./harness.js";

export const DAY_MS = 86_400_000;

/** What {@link seedWebhooks} made. */
export interface SeededHistory {
  endpointIds: string[];
  /** received_at of the oldest webhook. */
  start: number;
  /** Milliseconds between consecutive webhooks. */
  step: number;
}

/** The status and verification of the i-th seeded webhook (a fixed, well-mixed pattern). */
export function seededRow(i: number): { status: WebhookStatusName; verified: boolean } {
  const r = (i * 7919) % 100;
  const status: WebhookStatusName = r < 80 ? "delivered" : r < 90 ? "pending" : r < 95 ? "failed" : "dead_letter";
  return { status, verified: i % 10 !== 3 };
}

/** Seeds `rows` webhooks (each with its delivery and body); the clock ends a second after the last. */
export async function seedWebhooks(edge: BuiltEdge<TestClock>, rows: number): Promise<SeededHistory> {
  const endpointIds: string[] = [];
  for (const name of ["stripe", "github", "telegram", "generic"]) {
    const { endpoint } = await edge.client.createEndpoint({ name, providerType: ProviderType.GENERIC, destinationUrl: `http://10.0.0.1/${name}` });
    endpointIds.push(endpoint!.id);
  }
  const start = edge.clock.now();
  const step = Math.floor((30 * DAY_MS) / rows);
  const db = edge.app.db;
  const insertWebhook = db.prepare(
    `INSERT INTO webhook (id, endpoint_id, received_at, method, query, payload_size, content_type, source_ip,
       signature_valid, signature_reason, status, attempts, delivered_at, settled_at)
     VALUES (?, ?, ?, 'POST', '', 2, 'application/json', '203.0.113.9', ?, ?, ?, ?, ?, ?)`,
  );
  const insertDelivery = db.prepare(
    `INSERT INTO delivery (webhook_seq, destination_id, status, attempts, next_attempt_at, deliver_by, delivered_at, settled_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertBody = db.prepare(`INSERT INTO webhook_body (webhook_seq, headers, payload) VALUES (?, '[]', ?)`);
  const destinationOf = new Map(endpointIds.map((id) => [id, edge.app.destinations.ofEndpoint(id)[0]!.id]));
  const payload = Buffer.from("{}");
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const at = start + i * step;
      const endpointId = endpointIds[i % 4]!;
      const { status, verified } = seededRow(i);
      const settled = status === "pending" ? null : at + 500;
      const attempts = status === "pending" ? 0 : 1;
      const deliveredAt = status === "delivered" ? settled : null;
      const { lastInsertRowid } = insertWebhook.run(
        `wh_bulk${String(i).padStart(14, "0")}`,
        endpointId,
        at,
        verified ? 1 : 0,
        verified ? null : "signature mismatch",
        status,
        attempts,
        deliveredAt,
        settled,
      );
      insertBody.run(lastInsertRowid, payload);
      insertDelivery.run(lastInsertRowid, destinationOf.get(endpointId)!, status, attempts, at, at + 7 * DAY_MS, deliveredAt, settled);
    }
  })();
  edge.clock.ms = start + rows * step + 1000;
  return { endpointIds, start, step };
}

/** A ListWebhooks request (the AdminService client's argument). */
export type ListRequest = Parameters<BuiltEdge["client"]["listWebhooks"]>[0];

/** A date n days after the oldest seeded webhook. */
const day = (h: SeededHistory, n: number) => timestampFromMs(h.start + n * DAY_MS);

/**
 * The filter combinations the list must answer from an index, each matching
 * more than a page: a name, and the request for a seeded history at time `now`.
 */
export const LIST_CASES: [string, (h: SeededHistory, now: number) => ListRequest][] = [
  ["newest page, no filter", () => ({})],
  ["one endpoint", (h) => ({ endpointId: h.endpointIds[1] })],
  ["another endpoint", (h) => ({ endpointId: h.endpointIds[0] })],
  ["failed", () => ({ status: WebhookStatus.FAILED })],
  ["endpoint + dead_letter", (h) => ({ endpointId: h.endpointIds[2], status: WebhookStatus.DEAD_LETTER })],
  ["endpoint + pending + unverified", (h) => ({ endpointId: h.endpointIds[1], status: WebhookStatus.PENDING, verified: false })],
  ["unverified, 500 per page", () => ({ verified: false, limit: 500 })],
  ["a day three weeks ago", (h) => ({ since: day(h, 7), until: day(h, 8) })],
  ["endpoint + failed in an old week", (h) => ({ endpointId: h.endpointIds[3], status: WebhookStatus.FAILED, since: day(h, 2), until: day(h, 9) })],
  ["the last hour", (_h, now) => ({ since: timestampFromMs(now - 3_600_000) })],
  ["until the second day", (h) => ({ until: day(h, 1), status: WebhookStatus.DELIVERED })],
  ["since day one (wide window)", (h) => ({ since: day(h, 1) })],
];
