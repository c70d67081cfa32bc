/**
 * The payload file store: webhook bodies larger than FILE_PAYLOAD_BYTES live
 * in files beside the database, one per webhook, named by its id, in
 * `<DATABASE_PATH>-payloads/`. Files, not SQLite blobs: better-sqlite3 has no
 * incremental blob I/O, so a blob is always read and written whole in memory.
 *
 * A body is written to `tmp/<id>` as it arrives, then fsynced, renamed into
 * place and the directory fsynced — all before its row commits, so a row never
 * names a file that is not on disk. A crash in between leaves a file without a
 * row; `sweep` removes those (and every `tmp/` leftover) at start-up. Rows are
 * deleted before their files, so the same holds for retention.
 */
import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, read, readdirSync, readSync, rmSync, unlinkSync } from "node:fs";
import { copyFile, link, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { PARSE_LIMIT_BYTES } from "../destination/destination.filter.js";

/**
 * Bodies larger than this are stored as files; smaller ones stay in SQLite,
 * where group commit makes them cheap. The same bound as PARSE_LIMIT_BYTES:
 * a body the edge never parses is one it never needs whole in memory.
 */
export const FILE_PAYLOAD_BYTES = PARSE_LIMIT_BYTES;

/** The payload file store of the database at `databasePath`. */
export function payloadDirOf(databasePath: string): string {
  return `${databasePath}-payloads`;
}

/** Where a webhook's payload is: in its row (`inline`), or in a file of the store. */
export interface PayloadRef {
  size: number;
  /** The bytes, when stored in the row (empty for a file payload). */
  inline: Buffer;
  /** File name in the store, when stored as a file. */
  file: string | null;
  /** SHA-256 of the bytes, hex; null for a row stored before it was recorded (filled in when first shown). */
  sha256: string | null;
}

/** A payload kept in its row. */
export function inlinePayload(bytes: Uint8Array): PayloadRef {
  const inline = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { size: inline.length, inline, file: null, sha256: createHash("sha256").update(inline).digest("hex") };
}

/** A payload opened for reading in parts (the relay's chunks); close it when done. */
export interface PayloadReader {
  size: number;
  /** Up to `length` bytes from `offset` (fewer only at the end). */
  read(offset: number, length: number): Promise<Buffer>;
  close(): void;
}

/** A body being written; commit once it is complete, or abandon. */
export interface PayloadSpool {
  /** Appends bytes; resolves once the OS has them (call again only after it resolves). */
  write(chunk: Uint8Array): Promise<void>;
  /** fsyncs the file, moves it into place and fsyncs the directory; resolves with its name. */
  commit(): Promise<string>;
  /** Deletes what was written (also after commit: the row it was for did not commit). */
  abandon(): void;
}

/** fsyncs a directory, so a rename or unlink in it survives a power cut. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** File names the store ever writes: webhook ids. Anything else in the directory is left alone. */
const PAYLOAD_NAME = /^wh_[A-Za-z0-9_-]{1,64}$/;

/** Opens (creating) the store in `dir`. */
export function createPayloadFiles(dir: string) {
  const tmp = join(dir, "tmp");
  mkdirSync(tmp, { recursive: true });
  const path = (name: string): string => {
    if (!PAYLOAD_NAME.test(name)) throw new Error(`not a payload file name: ${JSON.stringify(name)}`);
    return join(dir, name);
  };

  return {
    dir,
    /** The path of a stored payload. */
    path,
    /** Starts writing the body of webhook `id`. */
    spool(id: string): PayloadSpool {
      const partial = join(tmp, id);
      const final = path(id);
      let handle: Promise<FileHandle> | undefined;
      let state: "open" | "committed" | "abandoned" = "open";
      const opened = () => (handle ??= open(partial, "wx"));
      return {
        async write(chunk) {
          if (state !== "open") throw new Error("payload spool is closed");
          const h = await opened();
          let at = 0;
          while (at < chunk.byteLength) {
            const { bytesWritten } = await h.write(chunk, at, chunk.byteLength - at);
            at += bytesWritten;
          }
        },
        async commit() {
          if (state !== "open") throw new Error("payload spool is closed");
          const h = await opened();
          await h.sync();
          await h.close();
          await rename(partial, final);
          await syncDir(dir);
          state = "committed";
          return id;
        },
        abandon() {
          const was = state;
          state = "abandoned";
          if (was === "abandoned") return;
          const target = was === "committed" ? final : partial;
          void (handle ?? Promise.resolve(undefined))
            .then((h) => h?.close())
            .catch(() => undefined)
            .then(() => unlink(target))
            .catch(() => undefined);
        },
      };
    },
    /** Whether a payload file is there. */
    exists(name: string): boolean {
      return existsSync(path(name));
    },
    /** The first `maxBytes` of a payload, wherever it is stored. */
    head(ref: PayloadRef, maxBytes: number): Buffer {
      if (ref.file === null) return ref.inline.subarray(0, maxBytes);
      const want = Math.min(maxBytes, ref.size);
      const out = Buffer.allocUnsafe(want);
      const fd = openSync(path(ref.file), "r");
      try {
        let at = 0;
        while (at < want) {
          const n = readSync(fd, out, at, want - at, at);
          if (n === 0) break;
          at += n;
        }
        return out.subarray(0, at);
      } finally {
        closeSync(fd);
      }
    },
    /**
     * Opens a payload for reading in parts. A file is opened now (so a missing
     * one throws ENOENT here, not half-way) and stays readable until closed,
     * even if retention deletes it meanwhile.
     */
    reader(ref: PayloadRef): PayloadReader {
      if (ref.file === null) {
        const bytes = ref.inline;
        return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length), close() {} };
      }
      let fd: number | undefined = openSync(path(ref.file), "r");
      return {
        size: ref.size,
        read: (offset, length) =>
          new Promise((resolve, reject) => {
            if (fd === undefined) return reject(new Error("payload reader is closed"));
            const want = Math.max(0, Math.min(length, ref.size - offset));
            const out = Buffer.allocUnsafe(want);
            const more = (at: number): void => {
              if (at === want) {
                resolve(out);
                return;
              }
              if (fd === undefined) {
                reject(new Error("payload reader is closed"));
                return;
              }
              read(fd, out, at, want - at, offset + at, (err, n) => {
                if (err) return reject(err);
                if (n === 0) return reject(new Error(`payload file ${ref.file} is shorter than its recorded ${ref.size} bytes`));
                more(at + n);
              });
            };
            more(0);
          }),
        close() {
          if (fd !== undefined) closeSync(fd);
          fd = undefined;
        },
      };
    },
    /** The whole payload as a stream (the download), read from its file in parts when it has one. */
    stream(ref: PayloadRef): Readable {
      return ref.file === null ? Readable.from([ref.inline]) : createReadStream(path(ref.file));
    },
    /**
     * Gives webhook `toId` its own copy of a file payload (a replay): a hard link
     * when the file system has them, else a copy; durable when it resolves.
     */
    async copy(fromName: string, toId: string): Promise<string> {
      const to = path(toId);
      try {
        await link(path(fromName), to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") throw err;
        await copyFile(path(fromName), to);
        const h = await open(to, "r");
        await h.sync().finally(() => h.close());
      }
      await syncDir(dir);
      return toId;
    },
    /** Deletes file payloads whose rows are gone (ENOENT is fine: already deleted). */
    remove(names: readonly string[]): void {
      for (const name of names) {
        try {
          unlinkSync(path(name));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        }
      }
    },
    /**
     * Start-up cleanup: deletes `tmp/` leftovers (bodies whose upload never
     * finished) and payload files no row names (a crash between file and row).
     */
    sweep(isReferenced: (name: string) => boolean): { partial: number; orphans: number } {
      let partial = 0;
      let orphans = 0;
      for (const name of readdirSync(tmp)) {
        rmSync(join(tmp, name), { force: true });
        partial += 1;
      }
      for (const name of readdirSync(dir)) {
        if (!PAYLOAD_NAME.test(name) || isReferenced(name)) continue;
        unlinkSync(join(dir, name));
        orphans += 1;
      }
      return { partial, orphans };
    },
  };
}

/** The payload file store. */
export type PayloadFiles = ReturnType<typeof createPayloadFiles>;
