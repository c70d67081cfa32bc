/**
 * The rows the payload file store answers to: which files rows name, and
 * which names were let go (migration 008's trigger records every file whose
 * webhook_body row was deleted, in the deleting transaction).
 */
import type { Db } from "../db/db.js";

/** Payload file bookkeeping. */
export type PayloadStore = ReturnType<typeof createPayloadStore>;

/** Prepares the statements. */
export function createPayloadStore(db: Db) {
  const named = db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM webhook_body WHERE payload_file = ? LIMIT 1`);
  const gone = db.prepare<[number], { name: string }>(`SELECT name FROM payload_file_gone ORDER BY name LIMIT ?`);
  const forgetOne = db.prepare<[string]>(`DELETE FROM payload_file_gone WHERE name = ?`);
  const forget = db.transaction((names: readonly string[]) => {
    for (const n of names) forgetOne.run(n);
  });
  return {
    /** Whether some row names this payload file. */
    referenced(name: string): boolean {
      return named.get(name) !== undefined;
    },
    /** Up to `limit` files whose rows are gone, to delete. */
    gone(limit: number): string[] {
      return gone.all(limit).map((r) => r.name);
    },
    /** Drops names whose files are deleted. */
    forget(names: readonly string[]): void {
      forget(names);
    },
  };
}
