/**
 * The queue's SQL on a real (temp) database: a destination's queue order, and
 * the webhook's status as the aggregate of its deliveries.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../db/db.js";
import { newId } from "../ids.js";
import { inlinePayload } from "../payload/payload.files.js";
import { createIngestStore } from "../ingest/ingest.store.js";
import { createQueueStore, type Settlement } from "./queue.store.js";

let dir: string;
let db: Db;
afterEach(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const EP = "ep_aaaaaaaaaaaaaaaaaaaaa";
const D1 = "dst_111111111111111111111";
const D2 = "dst_222222222222222222222";

function setup() {
  dir = mkdtempSync(join(tmpdir(), "hookly-queue-"));
  db = openDatabase(join(dir, "t.db"));
  db.prepare(`INSERT INTO endpoint (id, name, provider_type, created_at, updated_at) VALUES (?, 'e', 'generic', 0, 0)`).run(EP);
  for (const [i, d] of [D1, D2].entries()) {
    db.prepare(
      `INSERT INTO destination (id, endpoint_id, hub_id, url, position, created_at, updated_at) VALUES (?, ?, 'hub_bootstrap', 'http://x/', ?, 0, 0)`,
    ).run(d, EP, i);
  }
  return { ingest: createIngestStore(db), queue: createQueueStore(db) };
}

async function webhook(ingest: ReturnType<typeof createIngestStore>, routes: { destinationId: string; filteredBecause: string | null }[]) {
  const id = newId("webhook");
  const seq = await ingest.insert({
    id,
    endpointId: EP,
    receivedAt: 100,
    method: "POST",
    query: "",
    headers: [],
    payload: inlinePayload(Buffer.from("{}")),
    contentType: null,
    sourceIp: null,
    signatureValid: true,
    signatureReason: null,
    eventType: "push",
    routes,
    deliverBy: 10_000,
    replayOf: null,
  });
  return { id, seq };
}

const status = (seq: number) =>
  db.prepare(`SELECT status, attempts, error_message, settled_at FROM webhook WHERE seq = ?`).get(seq) as {
    status: string;
    attempts: number;
    error_message: string | null;
    settled_at: number | null;
  };

function settleHead(queue: ReturnType<typeof createQueueStore>, destinationId: string, s: Settlement) {
  const head = queue.pendingAfter(destinationId, 0, 1)[0]!;
  queue.settle(
    {
      id: newId("attempt"),
      webhookSeq: head.webhookSeq,
      deliverySeq: head.seq,
      number: head.attempts + 1,
      startedAt: s.at,
      durationMs: 1,
      statusCode: 0,
      outcome: "response",
      error: null,
      responseExcerpt: null,
    },
    s,
  );
}

describe("webhook status from its deliveries", () => {
  const both = [
    { destinationId: D1, filteredBecause: null },
    { destinationId: D2, filteredBecause: null },
  ];

  it("stays pending until every delivery settled, then is delivered", async () => {
    const { ingest, queue } = setup();
    const w = await webhook(ingest, both);
    settleHead(queue, D1, { status: "delivered", at: 200 });
    expect(status(w.seq)).toMatchObject({ status: "pending", attempts: 1, settled_at: null });
    settleHead(queue, D2, { status: "delivered", at: 300 });
    expect(status(w.seq)).toEqual({ status: "delivered", attempts: 2, error_message: null, settled_at: 300 });
  });

  it("is partial when one delivery failed and another was delivered, with the failure's error", async () => {
    const { ingest, queue } = setup();
    const w = await webhook(ingest, both);
    settleHead(queue, D1, { status: "failed", at: 200, error: "HTTP 404" });
    settleHead(queue, D2, { status: "delivered", at: 300 });
    expect(status(w.seq)).toMatchObject({ status: "partial", error_message: "HTTP 404" });
  });

  it("is failed when none was delivered, dead_letter when all ran out of time", async () => {
    const { ingest, queue } = setup();
    const a = await webhook(ingest, both);
    settleHead(queue, D1, { status: "failed", at: 200, error: "HTTP 400" });
    queue.deadLetter(queue.pendingAfter(D2, 0, 1)[0]!.seq, 300);
    expect(status(a.seq).status).toBe("failed");
    const b = await webhook(ingest, [{ destinationId: D1, filteredBecause: null }]);
    queue.deadLetter(queue.pendingAfter(D1, 0, 1)[0]!.seq, 400);
    expect(status(b.seq).status).toBe("dead_letter");
  });

  it("is filtered when every destination's filter dropped it, and delivered when the rest were", async () => {
    const { ingest, queue } = setup();
    const none = await webhook(ingest, [
      { destinationId: D1, filteredBecause: "event type push is not in the filter" },
      { destinationId: D2, filteredBecause: "event type push is not in the filter" },
    ]);
    expect(status(none.seq)).toMatchObject({ status: "filtered", settled_at: 100 });
    expect(queue.pendingAfter(D1, 0, 10)).toEqual([]);
    const some = await webhook(ingest, [
      { destinationId: D1, filteredBecause: "no" },
      { destinationId: D2, filteredBecause: null },
    ]);
    settleHead(queue, D2, { status: "delivered", at: 500 });
    expect(status(some.seq).status).toBe("delivered");
  });

  it.each<[string, Settlement]>([
    ["delivered", { status: "delivered", at: 200 }],
    ["failed", { status: "failed", at: 200, error: "HTTP 410" }],
    ["retry", { status: "retry", at: 200, nextAttemptAt: 900, error: "HTTP 503" }],
  ])("sets a one-delivery webhook's status directly, exactly as the aggregate would (%s)", async (_name, settlement) => {
    const { ingest, queue } = setup();
    const w = await webhook(ingest, [{ destinationId: D1, filteredBecause: null }]);
    settleHead(queue, D1, settlement);
    const direct = db.prepare(`SELECT * FROM webhook WHERE seq = ?`).get(w.seq);
    queue.recompute([w.seq]);
    expect(db.prepare(`SELECT * FROM webhook WHERE seq = ?`).get(w.seq)).toEqual(direct);
  });

  it("queues each destination in arrival order, independently", async () => {
    const { ingest, queue } = setup();
    const ws = [];
    for (let i = 0; i < 3; i++) ws.push(await webhook(ingest, both));
    settleHead(queue, D1, { status: "retry", at: 200, nextAttemptAt: 5_000, error: "HTTP 503" });
    expect(queue.pendingAfter(D1, 0, 10).map((q) => q.id)).toEqual(ws.map((w) => w.id));
    expect(queue.pendingAfter(D2, 0, 10).map((q) => [q.id, q.attempts])).toEqual(ws.map((w) => [w.id, 0]));
    expect(queue.pendingAfter(D1, 0, 10)[0]).toMatchObject({ attempts: 1, nextAttemptAt: 5_000, eventType: "push" });
    expect(queue.retryNow(D1, 300)).toBe(1);
    expect(queue.pendingAfter(D1, 0, 1)[0]!.nextAttemptAt).toBe(300);
  });

  it("retention purges every settled webhook that settled before the cutoff, failed and partial ones too, with their bodies", async () => {
    const { ingest, queue } = setup();
    const both = [
      { destinationId: D1, filteredBecause: null },
      { destinationId: D2, filteredBecause: null },
    ];
    const made = [];
    for (const s of ["delivered", "failed", "partial", "dead_letter", "filtered", "pending"]) {
      const w = await webhook(ingest, both);
      db.prepare(`UPDATE webhook SET status = ?, settled_at = ? WHERE seq = ?`).run(s, s === "pending" ? null : 100, w.seq);
      made.push({ status: s, ...w });
    }
    const young = await webhook(ingest, both);
    db.prepare(`UPDATE webhook SET status = 'failed', settled_at = 900 WHERE seq = ?`).run(young.seq);
    expect(queue.purge(500)).toBe(5);
    const left = db
      .prepare<[], { id: string }>(`SELECT id FROM webhook ORDER BY seq`)
      .all()
      .map((r) => r.id);
    expect(left).toEqual([made.find((m) => m.status === "pending")!.id, young.id]);
    // Bodies (headers and payload) and deliveries go with their webhooks.
    expect(db.prepare(`SELECT count(*) AS n FROM webhook_body`).get()).toEqual({ n: 2 });
    expect(db.prepare(`SELECT count(*) AS n FROM delivery`).get()).toEqual({ n: 4 });
  });
});
