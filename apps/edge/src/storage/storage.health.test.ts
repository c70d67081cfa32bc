/**
 * The storage health state machine: a table per rule, then seeded random
 * sequences checked against the invariants after every event.
 */
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../../../test/random.js";
import {
  SELF_RETRYING_AREAS,
  STORAGE_AREAS,
  applyStorageEvent,
  deliveryPaused,
  describeStorage,
  ingestRefusal,
  initialStorageState,
  mb,
  needsProbe,
  type StorageArea,
  type StorageEvent,
  type StoragePolicy,
  type StorageState,
  type StorageTransition,
} from "./storage.health.js";

const MiB = 1_048_576;
const policy: StoragePolicy = { minFreeBytes: 100 * MiB };
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);
const TOTAL = 10_000 * MiB;

const failed = (area: StorageArea, at: number, code = "SQLITE_FULL"): StorageEvent => ({ type: "failed", area, code, at });
const succeeded = (area: StorageArea, at: number): StorageEvent => ({ type: "succeeded", area, at });
const probed = (at: number): StorageEvent => ({ type: "probed", at });
const disk = (freeBytes: number, at: number): StorageEvent => ({ type: "disk", freeBytes, totalBytes: TOTAL, at });

/** Applies `events` from a healthy start; returns the final state and every event's transition. */
function run(events: StorageEvent[], from: StorageState = initialStorageState()) {
  let state = from;
  const transitions: StorageTransition[] = [];
  for (const e of events) {
    const r = applyStorageEvent(state, e, policy);
    state = r.state;
    transitions.push(r.transition);
  }
  return { state, transitions };
}

const faultedAreas = (s: StorageState): StorageArea[] => STORAGE_AREAS.filter((a) => s.faults.has(a));

describe("faults", () => {
  it("a failed area is faulted with its code, since and lastAt", () => {
    const { state } = run([failed("ingest", T0, "SQLITE_IOERR_WRITE")]);
    expect(state.faults.get("ingest")).toEqual({ code: "SQLITE_IOERR_WRITE", since: T0, lastAt: T0 });
    expect(faultedAreas(state)).toEqual(["ingest"]);
  });

  it("the same area failing again keeps its first since and moves lastAt", () => {
    const { state } = run([failed("admin", T0), failed("admin", T0 + 1000), failed("admin", T0 + 2000, "SQLITE_READONLY")]);
    expect(state.faults.get("admin")).toEqual({ code: "SQLITE_READONLY", since: T0, lastAt: T0 + 2000 });
  });

  it("succeeded clears only that area", () => {
    const { state } = run([failed("admin", T0), failed("hubs", T0 + 1), failed("delivery", T0 + 2), succeeded("hubs", T0 + 3)]);
    expect(faultedAreas(state)).toEqual(["delivery", "admin"]);
  });

  it("succeeded of an area that is not faulted changes nothing", () => {
    const { state: before } = run([failed("admin", T0)]);
    const { state, transitions } = run([succeeded("ingest", T0 + 1)], before);
    expect(faultedAreas(state)).toEqual(["admin"]);
    expect(state.degradedSince).toBe(T0);
    expect(transitions).toEqual([undefined]);
  });

  it.each(STORAGE_AREAS.map((area) => ({ area, kept: SELF_RETRYING_AREAS.has(area) })))(
    "probed after $area failed: still faulted = $kept",
    ({ area, kept }) => {
      const { state } = run([failed(area, T0), probed(T0 + 1)]);
      expect(state.faults.has(area)).toBe(kept);
    },
  );

  it("probed with every area faulted leaves exactly the self-retrying ones (delivery, checkpoint)", () => {
    const { state } = run([...STORAGE_AREAS.map((a, i) => failed(a, T0 + i)), probed(T0 + 100)]);
    expect(faultedAreas(state)).toEqual(["delivery", "checkpoint"]);
    expect(state.faults.get("delivery")?.since).toBe(T0 + 1);
  });
});

describe("disk", () => {
  it.each([
    { name: "one byte below the floor is low", free: policy.minFreeBytes - 1, low: true },
    { name: "zero free is low", free: 0, low: true },
    { name: "exactly at the floor is not low", free: policy.minFreeBytes, low: false },
    { name: "above the floor is not low", free: policy.minFreeBytes * 5, low: false },
  ])("$name", ({ free, low }) => {
    const { state } = run([disk(free, T0)]);
    expect(state.lowSince).toBe(low ? T0 : undefined);
    expect(state.disk).toEqual({ freeBytes: free, totalBytes: TOTAL, at: T0 });
  });

  it("further low readings keep the first lowSince and record the latest reading", () => {
    const { state } = run([disk(50 * MiB, T0), disk(40 * MiB, T0 + 1000), disk(60 * MiB, T0 + 2000)]);
    expect(state.lowSince).toBe(T0);
    expect(state.disk).toEqual({ freeBytes: 60 * MiB, totalBytes: TOTAL, at: T0 + 2000 });
  });

  it("a reading at the floor after low readings clears lowSince", () => {
    const { state } = run([disk(50 * MiB, T0), disk(policy.minFreeBytes, T0 + 1000)]);
    expect(state.lowSince).toBeUndefined();
  });

  it("low again after a good reading starts a new lowSince", () => {
    const { state } = run([disk(50 * MiB, T0), disk(500 * MiB, T0 + 1000), disk(50 * MiB, T0 + 2000)]);
    expect(state.lowSince).toBe(T0 + 2000);
  });
});

describe("ingestRefusal and deliveryPaused", () => {
  it.each<{ name: string; events: StorageEvent[]; refused: string[] | undefined }>([
    { name: "healthy, no reading", events: [], refused: undefined },
    { name: "healthy, plenty of room", events: [disk(500 * MiB, T0)], refused: undefined },
    { name: "an ingest fault", events: [failed("ingest", T0, "SQLITE_FULL")], refused: ["refuses new webhooks", "SQLITE_FULL"] },
    {
      name: "low disk",
      events: [disk(42 * MiB, T0)],
      refused: ["storage low", "42 MB free", "100 MB floor", "MIN_FREE_DISK_MB"],
    },
    {
      name: "an ingest fault and low disk: the fault is named",
      events: [disk(42 * MiB, T0), failed("ingest", T0 + 1, "SQLITE_IOERR_WRITE")],
      refused: ["SQLITE_IOERR_WRITE"],
    },
    { name: "a delivery-only fault", events: [failed("delivery", T0)], refused: undefined },
    { name: "admin and hubs faults", events: [failed("admin", T0), failed("hubs", T0)], refused: undefined },
    { name: "an ingest fault cleared by the probe", events: [failed("ingest", T0), probed(T0 + 1)], refused: undefined },
  ])("$name", ({ events, refused }) => {
    const reason = ingestRefusal(run(events).state, policy);
    if (refused === undefined) expect(reason).toBeUndefined();
    else for (const part of refused) expect(reason).toContain(part);
  });

  it("dispatch is paused by a delivery fault only", () => {
    expect(deliveryPaused(run([failed("delivery", T0)]).state)).toBe(true);
    expect(deliveryPaused(run([failed("ingest", T0), failed("checkpoint", T0), disk(0, T0)]).state)).toBe(false);
  });

  it.each<{ areas: StorageArea[]; probe: boolean }>([
    { areas: [], probe: false },
    { areas: ["delivery"], probe: false },
    { areas: ["delivery", "checkpoint"], probe: false },
    { areas: ["ingest"], probe: true },
    { areas: ["sessions"], probe: true },
    { areas: ["delivery", "alerts"], probe: true },
  ])("needsProbe with $areas faulted: $probe", ({ areas, probe }) => {
    expect(needsProbe(run(areas.map((a) => failed(a, T0))).state)).toBe(probe);
  });

  it("low disk alone does not need the probe", () => {
    expect(needsProbe(run([disk(0, T0)]).state)).toBe(false);
  });
});

describe("transitions", () => {
  it.each<{ name: string; events: StorageEvent[]; transitions: StorageTransition[] }>([
    { name: "a healthy reading reports nothing", events: [disk(500 * MiB, T0)], transitions: [undefined] },
    { name: "the first fault degrades", events: [failed("ingest", T0)], transitions: [{ kind: "degraded", since: T0 }] },
    { name: "the first low reading degrades", events: [disk(1, T0)], transitions: [{ kind: "degraded", since: T0 }] },
    {
      name: "nothing more while staying degraded",
      events: [failed("ingest", T0), failed("admin", T0 + 1), failed("ingest", T0 + 2), disk(1, T0 + 3), probed(T0 + 4)],
      transitions: [{ kind: "degraded", since: T0 }, undefined, undefined, undefined, undefined],
    },
    {
      name: "the last fault clearing recovers, with the outage's since",
      events: [failed("ingest", T0), failed("admin", T0 + 1), succeeded("ingest", T0 + 2), succeeded("admin", T0 + 3)],
      transitions: [{ kind: "degraded", since: T0 }, undefined, undefined, { kind: "recovered", since: T0, at: T0 + 3 }],
    },
    {
      name: "the probe clearing the last fault recovers",
      events: [failed("hubs", T0), probed(T0 + 5)],
      transitions: [
        { kind: "degraded", since: T0 },
        { kind: "recovered", since: T0, at: T0 + 5 },
      ],
    },
    {
      name: "the probe leaves a delivery fault: no recovery until delivery succeeds",
      events: [failed("ingest", T0), failed("delivery", T0 + 1), probed(T0 + 2), succeeded("delivery", T0 + 3)],
      transitions: [{ kind: "degraded", since: T0 }, undefined, undefined, { kind: "recovered", since: T0, at: T0 + 3 }],
    },
    {
      name: "faults cleared while the disk is low: no recovery until the disk is not low",
      events: [failed("ingest", T0), disk(1, T0 + 1), succeeded("ingest", T0 + 2), disk(policy.minFreeBytes, T0 + 3)],
      transitions: [{ kind: "degraded", since: T0 }, undefined, undefined, { kind: "recovered", since: T0, at: T0 + 3 }],
    },
    {
      name: "the disk recovers while a fault remains: no recovery until the fault clears",
      events: [disk(1, T0), failed("alerts", T0 + 1), disk(500 * MiB, T0 + 2), succeeded("alerts", T0 + 3)],
      transitions: [{ kind: "degraded", since: T0 }, undefined, undefined, { kind: "recovered", since: T0, at: T0 + 3 }],
    },
    {
      name: "a fault after a recovery starts a new outage with its own since",
      events: [failed("ingest", T0), succeeded("ingest", T0 + 1), failed("admin", T0 + 7)],
      transitions: [
        { kind: "degraded", since: T0 },
        { kind: "recovered", since: T0, at: T0 + 1 },
        { kind: "degraded", since: T0 + 7 },
      ],
    },
  ])("$name", ({ events, transitions }) => {
    expect(run(events).transitions).toEqual(transitions);
  });

  it("degradedSince follows the outage", () => {
    const { state: during } = run([failed("ingest", T0), failed("admin", T0 + 1)]);
    expect(during.degradedSince).toBe(T0);
    const { state: after } = run([succeeded("ingest", T0 + 2), succeeded("admin", T0 + 3)], during);
    expect(after.degradedSince).toBeUndefined();
  });
});

describe("describeStorage", () => {
  const iso = (t: number) => new Date(t).toISOString();
  const describeAfter = (events: StorageEvent[]) => describeStorage(run(events).state, policy);

  it("is undefined while healthy", () => {
    expect(describeAfter([disk(500 * MiB, T0)])).toBeUndefined();
    expect(describeAfter([failed("ingest", T0), succeeded("ingest", T0 + 1)])).toBeUndefined();
  });

  it.each<{ name: string; events: StorageEvent[]; contains: string[]; lacks: string[] }>([
    {
      name: "disk full: the free space and since when ingest is refused",
      events: [failed("ingest", T0, "SQLITE_FULL"), disk(0, T0 + 1000)],
      contains: ["storage full: 0 MB free", `ingest refused since ${iso(T0)}`],
      lacks: ["page limit", "dispatch paused", "failing:"],
    },
    {
      name: "low disk without a fault",
      events: [disk(42 * MiB, T0 + 500)],
      contains: ["storage low: 42 MB free", `ingest refused since ${iso(T0 + 500)}`],
      lacks: ["storage full", "page limit"],
    },
    {
      name: "a read-only database, free space unknown",
      events: [failed("admin", T0, "SQLITE_READONLY")],
      contains: ["storage refuses writes (SQLITE_READONLY)", "failing: admin"],
      lacks: ["ingest refused", "MB free"],
    },
    {
      name: "several codes are all named",
      events: [failed("ingest", T0, "SQLITE_READONLY"), failed("hubs", T0, "SQLITE_IOERR_WRITE")],
      contains: ["storage refuses writes (SQLITE_READONLY, SQLITE_IOERR_WRITE)"],
      lacks: ["storage full", "storage low"],
    },
    {
      name: "an ingest fault's since wins over a later low reading",
      events: [failed("ingest", T0, "SQLITE_IOERR_WRITE"), disk(1, T0 + 9000)],
      contains: ["storage low: 0 MB free", `ingest refused since ${iso(T0)}`],
      lacks: [iso(T0 + 9000)],
    },
    {
      name: "a delivery fault pauses dispatch, ingest is not refused",
      events: [failed("delivery", T0, "SQLITE_BUSY")],
      contains: ["storage refuses writes (SQLITE_BUSY)", "dispatch paused"],
      lacks: ["ingest refused", "failing:"],
    },
    {
      name: "other failing areas are listed in STORAGE_AREAS order",
      events: [failed("hubs", T0, "SQLITE_IOERR"), failed("admin", T0 + 1, "SQLITE_IOERR"), failed("ingest", T0 + 2, "SQLITE_IOERR")],
      contains: ["failing: admin, hubs"],
      lacks: ["ingest,", "delivery"],
    },
    {
      name: "SQLITE_FULL with room on the disk is the page limit",
      events: [failed("ingest", T0, "SQLITE_FULL"), disk(5000 * MiB, T0 + 1)],
      contains: ["storage full: 4.9 GB free", "page limit"],
      lacks: ["storage low"],
    },
    {
      name: "SQLITE_FULL with the disk low is not the page limit",
      events: [failed("ingest", T0, "SQLITE_FULL"), disk(1 * MiB, T0 + 1)],
      contains: ["storage full: 1 MB free"],
      lacks: ["page limit"],
    },
    {
      name: "SQLITE_FULL with the free space unknown claims no page limit",
      events: [failed("alerts", T0, "SQLITE_FULL")],
      contains: ["storage full", "failing: alerts"],
      lacks: ["page limit", "MB free", "ingest refused"],
    },
  ])("$name", ({ events, contains, lacks }) => {
    const line = describeAfter(events);
    expect(line).toBeDefined();
    for (const part of contains) expect(line).toContain(part);
    for (const part of lacks) expect(line).not.toContain(part);
  });
});

describe("mb", () => {
  it.each([
    { bytes: 0, text: "0 MB" },
    { bytes: MiB - 1, text: "0 MB" },
    { bytes: MiB, text: "1 MB" },
    { bytes: 150 * MiB + 1, text: "150 MB" },
    { bytes: 1023 * MiB, text: "1023 MB" },
    { bytes: 1024 * MiB, text: "1.0 GB" },
    { bytes: 10 * 1024 * MiB, text: "10.0 GB" },
  ])("$bytes bytes is $text", ({ bytes, text }) => {
    expect(mb(bytes)).toBe(text);
  });
});

// --- randomized sequences ----------------------------------------------------

const CODES = ["SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_READONLY", "SQLITE_BUSY"];
const FREE_CHOICES = [0, policy.minFreeBytes - 1, policy.minFreeBytes, policy.minFreeBytes + 1, 5000 * MiB];

function randomEvent(rnd: () => number, at: number): StorageEvent {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const r = rnd();
  // note: failures a little more often than clears, so outages both start and end often.
  if (r < 0.35) return failed(pick(STORAGE_AREAS), at, pick(CODES));
  if (r < 0.65) return succeeded(pick(STORAGE_AREAS), at);
  if (r < 0.8) return probed(at);
  return disk(pick(FREE_CHOICES), at);
}

/** Everything observable in a state, as plain data, to detect mutation. */
function snapshot(s: StorageState): string {
  return JSON.stringify({ faults: [...s.faults.entries()], disk: s.disk, lowSince: s.lowSince, degradedSince: s.degradedSince });
}

describe("random sequences", () => {
  const SEEDS = 60;
  const EVENTS_PER_SEED = 500;

  it(`keep every invariant after each of ${SEEDS * EVENTS_PER_SEED} events (${SEEDS} seeds)`, () => {
    let degradedCount = 0;
    let recoveredCount = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rnd = mulberry32(seed);
      let state = initialStorageState();
      let at = T0;
      // An independent model of which areas are faulted.
      const model = new Set<StorageArea>();
      let lastKind: "degraded" | "recovered" | undefined;
      let lastDegradedSince: number | undefined;
      const trace: string[] = [];
      for (let i = 0; i < EVENTS_PER_SEED; i++) {
        at += 1 + Math.floor(rnd() * 1000);
        const e = randomEvent(rnd, at);
        trace.push(JSON.stringify(e));
        // note: checked without expect() on the happy path, which would make 30k events slow.
        const check = (ok: boolean, what: string): void => {
          if (!ok) expect.fail(`seed ${seed}, event ${i}: ${what}\n  last events: ${trace.slice(-10).join(" | ")}`);
        };
        const before = snapshot(state);
        const { state: next, transition } = applyStorageEvent(state, e, policy);
        check(snapshot(state) === before, "the input state was mutated");

        if (e.type === "failed") model.add(e.area);
        else if (e.type === "succeeded") model.delete(e.area);
        else if (e.type === "probed") for (const a of [...model]) if (!SELF_RETRYING_AREAS.has(a)) model.delete(a);
        check(
          faultedAreas(next).join() === STORAGE_AREAS.filter((a) => model.has(a)).join(),
          `faulted ${faultedAreas(next).join()}, model ${[...model].join()}`,
        );

        const degraded = next.faults.size > 0 || next.lowSince !== undefined;
        check((next.degradedSince !== undefined) === degraded, "degradedSince defined ⇔ (a fault or low)");
        if (next.lowSince !== undefined) check(next.disk !== undefined && next.disk.freeBytes < policy.minFreeBytes, "low without a reading below the floor");
        else if (next.disk) check(next.disk.freeBytes >= policy.minFreeBytes, "not low below the floor");
        for (const [area, f] of next.faults) check(f.since <= f.lastAt, `${area}: since after lastAt`);

        if (transition?.kind === "degraded") {
          check(lastKind !== "degraded", "degraded twice without a recovery between");
          check(transition.since === at && next.degradedSince === at, "degraded since is not the event's time");
          lastDegradedSince = transition.since;
          lastKind = "degraded";
          degradedCount++;
        } else if (transition?.kind === "recovered") {
          check(lastKind === "degraded", "recovered without an outage");
          check(transition.since === lastDegradedSince, `recovered since ${transition.since}, degraded since ${lastDegradedSince}`);
          check(transition.at === at, "recovered at is not the event's time");
          lastKind = "recovered";
          recoveredCount++;
        } else {
          check((next.degradedSince !== undefined) === (state.degradedSince !== undefined), "degraded-ness changed without a transition");
        }
        check((next.degradedSince !== undefined) === (lastKind === "degraded"), "degraded ⇔ the last transition was degraded");

        check(
          (ingestRefusal(next, policy) !== undefined) === (next.faults.has("ingest") || next.lowSince !== undefined),
          "ingestRefusal ⇔ (ingest fault or low)",
        );
        check(needsProbe(next) === [...model].some((a) => !SELF_RETRYING_AREAS.has(a)), "needsProbe ⇔ a probe-clearable area is faulted");
        check(deliveryPaused(next) === model.has("delivery"), "deliveryPaused ⇔ delivery faulted");
        check((describeStorage(next, policy) !== undefined) === degraded, "describeStorage defined ⇔ degraded");

        state = next;
      }
    }
    // note: the sequences must actually exercise outages, or the checks above prove little.
    expect(degradedCount).toBeGreaterThan(SEEDS * 5);
    expect(recoveredCount).toBeGreaterThan(SEEDS * 5);
  });
});
