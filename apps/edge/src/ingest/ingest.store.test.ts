import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../db/db.js";
import { newId } from "../ids.js";
import { inlinePayload } from "../payload/payload.files.js";
import { createIngestStore, type NewWebhook } from "./ingest.store.js";

let dir: string;
let db: Db;
afterEach(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup(opts: Parameters<typeof createIngestStore>[1] = {}) {
  dir = mkdtempSync(join(tmpdir(), "hookly-ingest-"));
  db = openDatabase(join(dir, "t.db"));
  db.prepare(`INSERT INTO endpoint (id, name, provider_type, created_at, updated_at) VALUES ('ep_aaaaaaaaaaaaaaaaaaaaa', 'e', 'generic', 0, 0)`).run();
  db.prepare(
    `INSERT INTO destination (id, endpoint_id, hub_id, url, position, created_at, updated_at)
     VALUES ('dst_aaaaaaaaaaaaaaaaaaaaa', 'ep_aaaaaaaaaaaaaaaaaaaaa', 'hub_bootstrap', 'http://x/', 0, 0, 0)`,
  ).run();
  return createIngestStore(db, opts);
}

const webhook = (endpointId = "ep_aaaaaaaaaaaaaaaaaaaaa", payload = Buffer.from("{}")): NewWebhook => ({
  id: newId("webhook"),
  endpointId,
  receivedAt: 1,
  method: "POST",
  query: "",
  headers: [["Content-Type", "application/json"]],
  payload: inlinePayload(payload),
  contentType: "application/json",
  sourceIp: "127.0.0.1",
  signatureValid: false,
  signatureReason: "no secret",
  eventType: null,
  routes: endpointId === "ep_aaaaaaaaaaaaaaaaaaaaa" ? [{ destinationId: "dst_aaaaaaaaaaaaaaaaaaaaa", filteredBecause: null }] : [],
  deliverBy: 2,
  replayOf: null,
});

describe("ingest store", () => {
  it("commits a batch together, in submission order, and resolves after the WAL fsync", async () => {
    const store = setup();
    const seqs = await Promise.all(Array.from({ length: 50 }, () => store.insert(webhook())));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(db.prepare("SELECT count(*) AS n FROM webhook").get()).toEqual({ n: 50 });
    await store.close();
  });

  it("fails only the bad row of a batch (unknown endpoint) and keeps the others", async () => {
    const store = setup();
    const results = await Promise.allSettled([store.insert(webhook()), store.insert(webhook("ep_missingmissingmissing1")), store.insert(webhook())]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/FOREIGN KEY/);
    expect(db.prepare("SELECT count(*) AS n FROM webhook").get()).toEqual({ n: 2 });
    expect(db.prepare("SELECT count(*) AS n FROM webhook_body").get()).toEqual({ n: 2 });
    await store.close();
  });

  it("reports the destinations whose rows a commit made visible, leaving out a row that failed", async () => {
    const events: string[] = [];
    const store = setup({
      onCommit: (ids) => {
        // the rows are visible to other statements of the connection already
        const n = (db.prepare("SELECT count(*) AS n FROM webhook").get() as { n: number }).n;
        events.push(`commit ${[...ids].join(",")} rows=${n}`);
      },
    });
    const inserts = [store.insert(webhook()), store.insert(webhook("ep_missingmissingmissing1")), store.insert(webhook())].map((p) =>
      p.then(
        () => events.push("resolved"),
        () => events.push("rejected"),
      ),
    );
    await Promise.all(inserts);
    expect(events).toEqual(["commit dst_aaaaaaaaaaaaaaaaaaaaa rows=2", "resolved", "rejected", "resolved"]);
    await store.close();
  });

  it("still answers every insert when the commit listener throws", async () => {
    const store = setup({
      onCommit: () => {
        throw new Error("listener bug");
      },
    });
    const seqs = await Promise.all([store.insert(webhook()), store.insert(webhook())]);
    expect(seqs).toHaveLength(2);
    expect(db.prepare("SELECT count(*) AS n FROM webhook").get()).toEqual({ n: 2 });
    await store.close();
  });

  it("rejects every insert of a batch when the commit cannot happen", async () => {
    const store = setup();
    db.pragma("query_only = ON"); // the database refuses every write, as a full or read-only disk would
    const results = await Promise.allSettled([store.insert(webhook()), store.insert(webhook())]);
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    db.pragma("query_only = OFF");
    await store.close();
  });
});
