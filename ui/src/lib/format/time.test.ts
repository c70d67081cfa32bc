import { describe, expect, it } from "vitest";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { formatDuration, relativeTime, toDate } from "./time.svelte";
import { formatBytes } from "./bytes";

describe("time", () => {
  it("treats an unset or zero Timestamp as no time", () => {
    expect(toDate(undefined)).toBeUndefined();
    expect(toDate(create(TimestampSchema))).toBeUndefined();
    expect(toDate(timestampFromDate(new Date(1_700_000_000_000)))?.getTime()).toBe(1_700_000_000_000);
  });

  it("says 'just now' within ten seconds and counts in the largest unit after", () => {
    const now = Date.UTC(2025, 0, 1);
    expect(relativeTime(new Date(now - 5_000), now)).toBe("just now");
    expect(relativeTime(new Date(now - 3 * 60_000), now)).toMatch(/3/);
    expect(relativeTime(new Date(now + 2 * 3600_000), now)).toMatch(/2/);
  });

  it("formats spans for a person", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(42_000)).toBe("42 s");
    expect(formatDuration(5 * 60_000)).toBe("5 min");
    expect(formatDuration(200 * 60_000)).toBe("3 h 20 min");
    expect(formatDuration(7 * 24 * 3600_000)).toBe("7 d");
  });
});

describe("formatBytes", () => {
  it("uses powers of 1024", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536n)).toBe("1.5 KB");
    expect(formatBytes(100 * 1024 * 1024)).toBe("100 MB");
  });
});
