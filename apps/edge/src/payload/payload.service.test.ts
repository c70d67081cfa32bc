/**
 * The payload service on a real (temp) database and file store: the files of
 * rows retention or an endpoint's deletion removed are deleted (migration
 * 008's trigger names them), rows that still name a file keep it, and the
 * start-up sweep spares every file a row names.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openDatabase, type Db } from "../db/db.js";
import { newId } from "../ids.js";
import { createIngestStore } from "../ingest/ingest.store.js";
import { createQueueStore } from "../queue/queue.store.js";
import { FILE_PAYLOAD_BYTES, createPayloadFiles, inlinePayload, type PayloadFiles } from "./payload.files.js";
import { createPayloadService } from "./payload.service.js";
import { createPayloadStore } from "./payload.store.js";

let dir: string;
let db: Db;
afterEach(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const EP = "ep_aaaaaaaaaaaaaaaaaaaaa";
const DST = "dst_aaaaaaaaaaaaaaaaaaaaa";

function setup() {
  dir = mkdtempSync(join(tmpdir(), "hookly-payload-service-"));
  db = openDatabase(join(dir, "t.db"));
  db.prepare(`INSERT INTO endpoint (id, name, provider_type, created_at, updated_at) VALUES (?, 'e', 'generic', 0, 0)`).run(EP);
  db.prepare(
    `INSERT INTO destination (id, endpoint_id, hub_id, url, position, created_at, updated_at) VALUES (?, ?, 'hub_bootstrap', 'http://x/', 0, 0, 0)`,
  ).run(DST, EP);
  const files = createPayloadFiles(join(dir, "t.db-payloads"));
  const service = createPayloadService({ files, store: createPayloadStore(db), log: pino({ level: "silent" }) });
  return { files, service, ingest: createIngestStore(db), queue: createQueueStore(db) };
}

/** Stores a webhook with a file payload, or an inline one (`inline`: its bytes, default "small"). */
async function store(files: PayloadFiles, ingest: ReturnType<typeof createIngestStore>, asFile: boolean, inline = Buffer.from("small")) {
  const id = newId("webhook");
  let payload = inlinePayload(inline);
  if (asFile) {
    const spool = files.spool(id);
    await spool.write(Buffer.alloc(2000, 7));
    payload = { size: 2000, inline: Buffer.alloc(0), file: await spool.commit(), sha256: "00" };
  }
  const seq = await ingest.insert({
    id,
    endpointId: EP,
    receivedAt: 1,
    method: "POST",
    query: "",
    headers: [],
    payload,
    contentType: null,
    sourceIp: null,
    signatureValid: true,
    signatureReason: null,
    eventType: null,
    routes: [{ destinationId: DST, filteredBecause: null }],
    deliverBy: 10,
    replayOf: null,
  });
  return { id, seq };
}

describe("payload service", () => {
  it("deletes the files of webhooks retention purged, and only those", async () => {
    const { files, service, ingest, queue } = setup();
    const old = await store(files, ingest, true);
    const young = await store(files, ingest, true);
    await store(files, ingest, false);
    db.prepare(`UPDATE webhook SET status = 'delivered', settled_at = ? WHERE seq = ?`).run(100, old.seq);
    db.prepare(`UPDATE webhook SET status = 'delivered', settled_at = ? WHERE seq = ?`).run(900, young.seq);
    expect(queue.purge(500)).toBe(1);
    expect(existsSync(files.path(old.id))).toBe(true);
    expect(service.collect()).toBe(1);
    expect(existsSync(files.path(old.id))).toBe(false);
    expect(existsSync(files.path(young.id))).toBe(true);
    expect(service.collect()).toBe(0);
    expect(db.prepare(`SELECT count(*) AS n FROM payload_file_gone`).get()).toEqual({ n: 0 });
  });

  it("deleting an endpoint names every file of its webhooks; a file already gone is fine", async () => {
    const { files, service, ingest } = setup();
    const a = await store(files, ingest, true);
    const b = await store(files, ingest, true);
    files.remove([b.id]);
    db.prepare(`DELETE FROM endpoint WHERE id = ?`).run(EP);
    expect(service.collect()).toBe(2);
    expect(existsSync(files.path(a.id))).toBe(false);
  });

  it("the start-up sweep keeps every file a row names and deletes the rest", async () => {
    const { files, service, ingest } = setup();
    const named = await store(files, ingest, true);
    writeFileSync(files.path("wh_orphan"), "x");
    writeFileSync(join(files.dir, "tmp", "wh_partial"), "x");
    service.start();
    await service.close();
    expect(existsSync(files.path(named.id))).toBe(true);
    expect(existsSync(files.path("wh_orphan"))).toBe(false);
    expect(existsSync(join(files.dir, "tmp", "wh_partial"))).toBe(false);
  });

  it("a reader reads a file payload in parts, and refuses a file shorter than its row says", async () => {
    const { files, ingest } = setup();
    const w = await store(files, ingest, true);
    const reader = files.reader({ size: 2000, inline: Buffer.alloc(0), file: w.id, sha256: null });
    const parts = [await reader.read(0, 700), await reader.read(700, 700), await reader.read(1400, 700)];
    expect(parts.map((p) => p.length)).toEqual([700, 700, 600]);
    expect(Buffer.concat(parts).equals(Buffer.alloc(2000, 7))).toBe(true);
    reader.close();
    await expect(reader.read(0, 10)).rejects.toThrow(/closed/);
    const short = files.reader({ size: 5000, inline: Buffer.alloc(0), file: w.id, sha256: null });
    await expect(short.read(0, 5000)).rejects.toThrow(/shorter than its recorded 5000 bytes/);
    short.close();
    expect(() => files.reader({ size: 1, inline: Buffer.alloc(0), file: "wh_missing", sha256: null })).toThrow(/ENOENT/);
  });

  it("moves bodies over 1 MiB that rows from before payload files hold into files, once, and leaves the rest in their rows", async () => {
    const { files, service, ingest } = setup();
    const big = randomBytes(FILE_PAYLOAD_BYTES + 1);
    const old = await store(files, ingest, false, big);
    db.prepare(`UPDATE webhook SET payload_sha256 = NULL WHERE seq = ?`).run(old.seq);
    const small = await store(files, ingest, false, randomBytes(FILE_PAYLOAD_BYTES));
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN SELECT webhook_seq FROM webhook_body WHERE payload_file IS NULL AND length(payload) > ${FILE_PAYLOAD_BYTES}`)
      .all();
    expect(JSON.stringify(plan), "migration 009's partial index finds them").toContain("webhook_body_inline_large");

    expect(await service.moveInline()).toBe(1);
    const row = (seq: number) =>
      db
        .prepare<[number], { file: string | null; inline: number; sha: string | null }>(
          `SELECT b.payload_file AS file, length(b.payload) AS inline, w.payload_sha256 AS sha FROM webhook_body b JOIN webhook w ON w.seq = b.webhook_seq WHERE b.webhook_seq = ?`,
        )
        .get(seq);
    expect(row(old.seq)).toEqual({ file: old.id, inline: 0, sha: createHash("sha256").update(big).digest("hex") });
    expect(readFileSync(files.path(old.id)).equals(big)).toBe(true);
    expect(row(small.seq)).toMatchObject({ file: null, inline: FILE_PAYLOAD_BYTES });
    expect(readdirSync(join(files.dir, "tmp"))).toEqual([]);
    expect(await service.moveInline()).toBe(0);
  });

  it("a row deleted while its body is being moved keeps nothing behind: the new file goes", async () => {
    const { files, service, ingest } = setup();
    const old = await store(files, ingest, false, randomBytes(FILE_PAYLOAD_BYTES + 10));
    const moving = service.moveInline();
    // The body was read and its write began; the row goes now (retention, an endpoint deleted).
    db.prepare(`DELETE FROM webhook WHERE seq = ?`).run(old.seq);
    expect(await moving).toBe(0);
    await vi.waitFor(() => expect(existsSync(files.path(old.id))).toBe(false));
    expect(readdirSync(join(files.dir, "tmp"))).toEqual([]);
  });
});
