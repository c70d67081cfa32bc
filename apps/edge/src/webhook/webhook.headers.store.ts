/**
 * SQL of the one-time job that seals the secret headers of webhooks stored
 * before they were sealed (migration 012's upgrade_job).
 */
import type { Db } from "../db/db.js";

const JOB = "seal-secret-headers";

/** The job's statements; see {@link createHeaderSealingStore}. */
export type HeaderSealingStore = ReturnType<typeof createHeaderSealingStore>;

/** Prepares the statements. */
export function createHeaderSealingStore(db: Db) {
  const state = db.prepare<[string], { afterSeq: number; doneAt: number | null }>(
    `SELECT after_seq AS afterSeq, done_at AS doneAt FROM upgrade_job WHERE name = ?`,
  );
  const batch = db.prepare<[number, number], { seq: number; headers: string }>(
    `SELECT webhook_seq AS seq, headers FROM webhook_body WHERE webhook_seq > ? ORDER BY webhook_seq LIMIT ?`,
  );
  const updateHeaders = db.prepare<[string, number]>(`UPDATE webhook_body SET headers = ? WHERE webhook_seq = ?`);
  const progress = db.prepare<[number, number | null, string]>(`UPDATE upgrade_job SET after_seq = ?, done_at = ? WHERE name = ?`);
  const save = db.transaction((updates: readonly { seq: number; headers: string }[], afterSeq: number, doneAt: number | null) => {
    for (const u of updates) updateHeaders.run(u.headers, u.seq);
    progress.run(afterSeq, doneAt, JOB);
  });
  return {
    /** Where the job stands; undefined before migration 012. */
    state(): { afterSeq: number; doneAt: number | null } | undefined {
      return state.get(JOB);
    },
    /** Up to `limit` stored header lists after `afterSeq`, in order. */
    batch(afterSeq: number, limit: number): { seq: number; headers: [string, string][] }[] {
      return batch.all(afterSeq, limit).map((r) => ({ seq: r.seq, headers: JSON.parse(r.headers) as [string, string][] }));
    },
    /** Writes the re-sealed lists and the progress in one transaction. */
    save(updates: readonly { seq: number; headers: [string, string][] }[], afterSeq: number, doneAt: number | null): void {
      save(
        updates.map((u) => ({ seq: u.seq, headers: JSON.stringify(u.headers) })),
        afterSeq,
        doneAt,
      );
    },
  };
}
