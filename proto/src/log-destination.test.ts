import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createLogDestination, type LogOutage } from "./log-destination.js";

const opened: number[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) fs.closeSync(fd);
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function openFd(path: string, flags: string | number): number {
  const fd = fs.openSync(path, flags);
  opened.push(fd);
  return fd;
}

/** A FIFO opened non-blocking at both ends: writes fail with EAGAIN once it is full, until it is read. */
function nonBlockingPipe(): { reader: number; writer: number; closeReader(): void } {
  const dir = fs.mkdtempSync(join(tmpdir(), "hookly-log-"));
  dirs.push(dir);
  const path = join(dir, "fifo");
  execFileSync("mkfifo", [path]);
  // note: the read end first: a non-blocking open of the write end fails with ENXIO without a reader.
  const reader = openFd(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writer = openFd(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  return {
    reader,
    writer,
    closeReader() {
      opened.splice(opened.indexOf(reader), 1);
      fs.closeSync(reader);
    },
  };
}

function drain(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    try {
      const n = fs.readSync(fd, buf);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") break;
      throw err;
    }
  }
  return Buffer.concat(chunks).toString();
}

/** Collects uncaught exceptions and unhandled rejections until `stop()`, a tick after the last write. */
function watchUncaught() {
  const seen: unknown[] = [];
  const onError = (err: unknown) => seen.push(err);
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  return async () => {
    await new Promise((r) => setImmediate(r));
    process.off("uncaughtException", onError);
    process.off("unhandledRejection", onError);
    return seen;
  };
}

describe("log destination", () => {
  it("drops and counts the lines /dev/full refuses (ENOSPC), without throwing or an uncaught error", async () => {
    const stop = watchUncaught();
    const destination = createLogDestination({ fd: openFd("/dev/full", "w") });
    const log = pino({ level: "debug" }, destination);
    expect(() => {
      for (let i = 0; i < 50; i++) log.debug({ i }, "a line that cannot be written");
    }).not.toThrow();
    expect(destination.dropped).toBe(50);
    expect(destination.failing).toBe(true);
    expect(await stop()).toEqual([]);
  });

  it("returns from fatal() on a refusing fd (pino's fatal flushes the destination synchronously)", async () => {
    const stop = watchUncaught();
    const destination = createLogDestination({ fd: openFd("/dev/full", "w") });
    const log = pino({}, destination);
    log.info("first");
    log.fatal("last words");
    expect(destination.dropped).toBe(2);
    expect(await stop()).toEqual([]);
  });

  it("writes again once the fd accepts lines, and reports what the outage dropped", async () => {
    const stop = watchUncaught();
    const pipe = nonBlockingPipe();
    const restored: LogOutage[] = [];
    const destination = createLogDestination({ fd: pipe.writer, onRestored: (o) => restored.push(o) });
    const log = pino({}, destination);
    let n = 0;
    while (destination.dropped === 0 && n < 100_000) log.info({ n: n++ }, "filling the pipe");
    expect(destination.dropped).toBe(1);
    log.info("refused as well");
    expect(destination.dropped).toBe(2);

    const before = drain(pipe.reader).trimEnd().split("\n");
    expect(before).toHaveLength(n - 1);
    expect(JSON.parse(before.at(-1)!)).toMatchObject({ n: n - 2 });

    log.info("after the outage");
    expect(destination.failing).toBe(false);
    expect(JSON.parse(drain(pipe.reader))).toMatchObject({ msg: "after the outage" });
    await new Promise((r) => setImmediate(r));
    expect(restored).toEqual([{ dropped: 2, code: "EAGAIN" }]);
    expect(await stop()).toEqual([]);
  });

  it("drops and counts every line once the pipe's reader is gone (EPIPE)", async () => {
    const stop = watchUncaught();
    const pipe = nonBlockingPipe();
    const destination = createLogDestination({ fd: pipe.writer });
    const log = pino({}, destination);
    log.info("read");
    expect(JSON.parse(drain(pipe.reader))).toMatchObject({ msg: "read" });
    pipe.closeReader();
    for (let i = 0; i < 5; i++) log.info({ i }, "nobody reads this");
    expect(destination.dropped).toBe(5);
    expect(await stop()).toEqual([]);
  });
});
