import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import {
  readableMegabytes,
  sinceText,
  storageAreaLabel,
  storageBanner,
  storageBannerParts,
  storageConsequences,
  storageSpace,
  type StorageHealthLike,
} from "./storage";

const UTC = { locale: "en-GB", timeZone: "UTC" };
const NOW = Date.parse("2026-12-02T07:13:20.000Z");
const MB = 1_048_576n;
const GB = 1024n * MB;

const healthy: StorageHealthLike = {
  healthy: true,
  summary: "",
  ingestRefused: "",
  deliveryPaused: false,
  freeBytes: 12n * GB,
  totalBytes: 50n * GB,
  minFreeBytes: 64n * MB,
  faults: [],
};

const full: StorageHealthLike = {
  ...healthy,
  healthy: false,
  degradedSince: timestampFromDate(new Date("2026-12-02T07:10:00.000Z")),
  summary: "storage full: 0 MB free; ingest refused since 2026-12-02T07:10:00.000Z; dispatch paused until results can be recorded",
  ingestRefused: "storage refuses new webhooks (SQLITE_FULL)",
  deliveryPaused: true,
  freeBytes: 0n,
  faults: [
    { area: "ingest", code: "SQLITE_FULL", since: timestampFromDate(new Date("2026-12-02T07:10:00.000Z")) },
    { area: "delivery", code: "SQLITE_FULL", since: timestampFromDate(new Date("2026-12-02T07:11:00.000Z")) },
  ],
};

describe("storage banner", () => {
  it("shows nothing while storage is healthy or not known yet", () => {
    expect(storageBanner(undefined, NOW, UTC)).toBeUndefined();
    expect(storageBanner(healthy, NOW, UTC)).toBeUndefined();
  });

  it("is the edge's summary, capitalised, with its instants as local times and their age", () => {
    expect(storageBanner(full, NOW, UTC)).toBe("Storage full: 0 MB free; ingest refused since 07:10 (3 min); dispatch paused until results can be recorded");
  });

  it("keeps the age apart from the time, so a live region need not re-read the line every minute", () => {
    expect(storageBannerParts(full, NOW, UTC)).toEqual([
      { kind: "text", text: "Storage full: 0 MB free; ingest refused since " },
      { kind: "time", iso: "2026-12-02T07:10:00.000Z", time: "07:10", age: "3 min" },
      { kind: "text", text: "; dispatch paused until results can be recorded" },
    ]);
  });

  it("shows times in the person's time zone", () => {
    expect(storageBanner(full, NOW, { locale: "en-GB", timeZone: "Europe/Berlin" })).toContain("since 08:10 (3 min)");
  });

  it("falls back to the start of the outage when the edge sends no summary", () => {
    expect(storageBanner({ ...full, summary: "" }, NOW, UTC)).toBe("Storage degraded since 07:10 (3 min)");
    expect(storageBanner({ ...full, summary: "", degradedSince: undefined }, NOW, UTC)).toBe("Storage degraded");
  });

  it("writes large megabyte counts as a person reads them", () => {
    expect(storageBanner({ ...full, summary: "storage low: 80585 MB free; ingest refused since 2026-12-02T07:10:00.000Z" }, NOW, UTC)).toBe(
      "Storage low: 79 GB free; ingest refused since 07:10 (3 min)",
    );
    expect(readableMegabytes("below the 1048576 MB floor, 0 MB free, 1023 MB")).toBe("below the 1.0 TB floor, 0 MB free, 1023 MB");
  });

  it("leaves a summary without instants as it is, capitalised", () => {
    expect(storageBanner({ ...full, summary: "storage refuses writes (SQLITE_READONLY): 900 MB free; failing: sessions" }, NOW, UTC)).toBe(
      "Storage refuses writes (SQLITE_READONLY): 900 MB free; failing: sessions",
    );
  });

  it("says what follows for webhooks and deliveries", () => {
    expect(storageConsequences(full)).toEqual([
      "New webhooks are refused with 503; providers retry them later.",
      "Deliveries wait until their results can be recorded.",
    ]);
    expect(storageConsequences({ ...full, ingestRefused: "", deliveryPaused: false })).toEqual([]);
  });
});

describe("sinceText", () => {
  it("gives the time alone today and the date as well before", () => {
    expect(sinceText(new Date("2026-12-02T07:10:00.000Z"), NOW, UTC)).toEqual({ time: "07:10", age: "3 min" });
    expect(sinceText(new Date("2026-11-30T23:05:00.000Z"), NOW, UTC)).toEqual({ time: "30 Nov, 23:05", age: "32 h 8 min" });
  });

  it("says under a minute for a fresh outage, also when the browser's clock is behind the edge's", () => {
    expect(sinceText(new Date(NOW - 59_000), NOW, UTC).age).toBe("< 1 min");
    expect(sinceText(new Date(NOW + 5_000), NOW, UTC).age).toBe("< 1 min");
  });
});

describe("storageSpace", () => {
  it("gives free and total space in powers of 1024, and the floor", () => {
    expect(storageSpace(healthy)).toEqual({ text: "12 GB free of 50 GB", floor: "ingest refused below 64 MB", usedFraction: 0.76, low: false });
    expect(storageSpace({ ...healthy, freeBytes: 1536n * MB, totalBytes: 8n * GB }).text).toBe("1.5 GB free of 8.0 GB");
  });

  it("says unknown when the edge cannot measure free space (an in-memory database)", () => {
    expect(storageSpace({ ...healthy, freeBytes: undefined, totalBytes: undefined })).toEqual({
      text: "unknown",
      floor: "ingest refused below 64 MB",
      usedFraction: undefined,
      low: false,
    });
  });

  it("marks free space under the floor as low, and leaves the floor out when it is off", () => {
    expect(storageSpace({ ...healthy, freeBytes: 10n * MB }).low).toBe(true);
    expect(storageSpace({ ...healthy, minFreeBytes: 0n }).floor).toBeUndefined();
  });

  it("copes with free space but no total", () => {
    expect(storageSpace({ ...healthy, totalBytes: undefined })).toMatchObject({ text: "12 GB free", usedFraction: undefined });
  });
});

describe("storageAreaLabel", () => {
  it("names known write paths and shows unknown ones as sent", () => {
    expect(storageAreaLabel("delivery")).toBe("Delivery results");
    expect(storageAreaLabel("something-new")).toBe("something-new");
  });
});
