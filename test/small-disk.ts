/**
 * A small real filesystem for storage-fault tests: a tmpfs of a few MB,
 * mounted when the tests run as root (CI does), that a test can fill to the
 * last byte, free again, or grow. Where mounting is not possible it returns
 * undefined and the test falls back (e.g. to SQLite's max_page_count).
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A mounted tmpfs. */
export interface SmallDisk {
  dir: string;
  /** Free bytes as an unprivileged writer sees them. */
  freeBytes(): number;
  /** Writes a filler file until at most `leaveBytes` remain free (0: to the last byte). */
  fill(leaveBytes?: number): void;
  /** Deletes the filler. */
  free(): void;
  /** Remounts with a new size (MB). */
  resize(sizeMb: number): void;
  /** Unmounts and removes the mount point. */
  remove(): void;
}

/** Whether this process can mount a tmpfs here (root on Linux, and allowed by the container): tried once. */
export const canMount = ((): boolean => {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  const dir = mkdtempSync(join(tmpdir(), "hookly-mount-check-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { stdio: "pipe" });
    execFileSync("umount", [dir], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/** Mounts a tmpfs of `sizeMb`, or returns undefined when that is not possible here. */
export function mountSmallDisk(sizeMb: number): SmallDisk | undefined {
  if (!canMount) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "hookly-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMb}m`, "tmpfs", dir], { stdio: "pipe" });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  const filler = join(dir, "filler");
  const freeBytes = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    freeBytes,
    fill(leaveBytes = 0) {
      const fd = openSync(filler, "a");
      try {
        for (const size of [1 << 20, 64 << 10, 4 << 10, 1]) {
          const chunk = Buffer.alloc(size, 0x55);
          // note: bounded: a 1 MB chunk at a time at most size/chunk times.
          for (let i = 0; i < 1 << 16 && freeBytes() - size >= leaveBytes; i++) {
            try {
              writeSync(fd, chunk);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
              throw err;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    resize(mb) {
      execFileSync("mount", ["-o", `remount,size=${mb}m`, dir], { stdio: "pipe" });
    },
    remove() {
      try {
        unlinkSync(filler);
      } catch {
        // no filler
      }
      execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
