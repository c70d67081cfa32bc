/**
 * The edge's outbox on one hub stream: control frames first, bodies
 * round-robin one frame at a time, and each body within the limit its hub's
 * credits allow (DeliveryCredit), so a body whose destination reads slowly
 * waits at the edge while the others go on.
 */
import { create } from "@bufbuild/protobuf";
import { DeliveryStartSchema, type EdgeFrame, EdgeFrameSchema } from "@hookly/proto/gen/stream_pb";
import { describe, expect, it } from "vitest";
import type { PayloadReader } from "../payload/payload.files.js";
import { CHUNK_BYTES, Outbox } from "./relay.rpc.js";

/** A body of `size` bytes whose byte i is i % 251; counts its closes. */
function body(size: number): PayloadReader & { closed: number } {
  const bytes = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
  return {
    size,
    closed: 0,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
    close() {
      this.closed += 1;
    },
  };
}

const start = (deliveryId: string) => create(DeliveryStartSchema, { deliveryId });

/** What a frame carries: [delivery id, offset, bytes]. */
function describeFrame(f: EdgeFrame): [string, number, number] {
  if (f.kind.case === "start") return [f.kind.value.deliveryId, 0, f.kind.value.body.length];
  if (f.kind.case === "chunk") return [f.kind.value.deliveryId, Number(f.kind.value.offset), f.kind.value.data.length];
  return [f.kind.case ?? "", 0, 0];
}

/** Reads an outbox's frames; `take` waits for up to `n` of them, stopping when none comes for a while. */
function reader(outbox: Outbox) {
  const frames = outbox.frames();
  // note: a next() that lost the race to the idle timer still resolves later; keep it for the next take.
  let pending: Promise<IteratorResult<EdgeFrame>> | undefined;
  return {
    async take(n: number): Promise<[string, number, number][]> {
      const out: [string, number, number][] = [];
      while (out.length < n) {
        pending ??= frames.next();
        const next = await Promise.race([pending, new Promise<"idle">((r) => setTimeout(() => r("idle"), 50))]);
        if (next === "idle") break;
        pending = undefined;
        if (next.done) break;
        out.push(describeFrame(next.value));
      }
      return out;
    },
    async done(): Promise<boolean> {
      pending ??= frames.next();
      return (await pending).done === true;
    },
  };
}

describe("Outbox", () => {
  it("sends a body whole when its hub announced no window", async () => {
    const outbox = new Outbox();
    const b = body(3 * CHUNK_BYTES);
    outbox.pushTransfer({ start: start("d1"), body: b, offset: 0, limit: Number.POSITIVE_INFINITY });
    expect(await reader(outbox).take(10)).toEqual([
      ["d1", 0, CHUNK_BYTES],
      ["d1", CHUNK_BYTES, CHUNK_BYTES],
      ["d1", 2 * CHUNK_BYTES, CHUNK_BYTES],
    ]);
    expect(b.closed).toBe(1);
  });

  it("stops a body at its limit, keeps sending the others, and goes on when the hub grants more", async () => {
    const outbox = new Outbox();
    const slow = body(4 * CHUNK_BYTES);
    const other = body(2 * CHUNK_BYTES);
    const frames = reader(outbox);
    outbox.pushTransfer({ start: start("slow"), body: slow, offset: 0, limit: CHUNK_BYTES + 100 });
    outbox.pushTransfer({ start: start("other"), body: other, offset: 0, limit: Number.POSITIVE_INFINITY });
    expect(await frames.take(10)).toEqual([
      ["slow", 0, CHUNK_BYTES],
      ["other", 0, CHUNK_BYTES],
      // the rest of its limit, never more
      ["slow", CHUNK_BYTES, 100],
      ["other", CHUNK_BYTES, CHUNK_BYTES],
    ]);
    expect(outbox.waitingForCredit).toBe(1);
    expect(slow.closed).toBe(0);
    // A credit that does not raise the limit changes nothing; unknown deliveries are ignored.
    outbox.grant("slow", CHUNK_BYTES);
    outbox.grant("nobody", 10 * CHUNK_BYTES);
    expect(await frames.take(1)).toEqual([]);
    outbox.grant("slow", 4 * CHUNK_BYTES);
    expect(await frames.take(10)).toEqual([
      ["slow", CHUNK_BYTES + 100, CHUNK_BYTES],
      ["slow", 2 * CHUNK_BYTES + 100, CHUNK_BYTES],
      ["slow", 3 * CHUNK_BYTES + 100, CHUNK_BYTES - 100],
    ]);
    expect(outbox.waitingForCredit).toBe(0);
    expect(slow.closed).toBe(1);
    outbox.close();
  });

  it("sends control frames before body frames", async () => {
    const outbox = new Outbox();
    outbox.pushTransfer({ start: start("d1"), body: body(2 * CHUNK_BYTES), offset: 0, limit: Number.POSITIVE_INFINITY });
    outbox.pushControl(create(EdgeFrameSchema, { kind: { case: "heartbeat", value: { sentAtMs: 1n } } }));
    expect((await reader(outbox).take(3)).map(([id]) => id)).toEqual(["heartbeat", "d1", "d1"]);
  });

  it("closes the readers of bodies waiting for credit when the stream ends", async () => {
    const outbox = new Outbox();
    const waiting = body(4 * CHUNK_BYTES);
    const frames = reader(outbox);
    outbox.pushTransfer({ start: start("w"), body: waiting, offset: 0, limit: CHUNK_BYTES });
    expect(await frames.take(5)).toHaveLength(1);
    outbox.close();
    expect(waiting.closed).toBe(1);
    expect(await frames.done()).toBe(true);
  });
});
