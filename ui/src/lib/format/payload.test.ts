import { describe, expect, it } from "vitest";
import { HEX_DUMP_LIMIT, hexDump, reindentJson, viewPayload } from "./payload";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("viewPayload", () => {
  it("pretty-prints JSON without touching big integers, key order or duplicates", () => {
    const view = viewPayload(bytes('{"b":12345678901234567890,"a":[1,{}],"a":"x"}'));
    expect(view.kind).toBe("json");
    if (view.kind !== "json") return;
    expect(view.pretty).toBe('{\n  "b": 12345678901234567890,\n  "a": [\n    1,\n    {}\n  ],\n  "a": "x"\n}');
    expect(view.raw).toBe('{"b":12345678901234567890,"a":[1,{}],"a":"x"}');
  });

  it("keeps strings with brackets, commas, colons and escaped quotes as they are", () => {
    const view = viewPayload(bytes('{"s":"a,b:{c}[d] \\"q\\" \\\\"}'));
    expect(view.kind === "json" && view.pretty).toBe('{\n  "s": "a,b:{c}[d] \\"q\\" \\\\"\n}');
  });

  it("shows HTML and script as text (the caller interpolates it, never as markup)", () => {
    const view = viewPayload(bytes("<script>alert(1)</script>"), "text/html");
    expect(view).toEqual({ kind: "text", raw: "<script>alert(1)</script>", shownBytes: 25 });
  });

  it("treats a JSON content type with a body that does not parse as text", () => {
    expect(viewPayload(bytes("{not json"), "application/json").kind).toBe("text");
  });

  it("shows a scalar as JSON only when the content type says JSON", () => {
    expect(viewPayload(bytes("42"), "application/json").kind).toBe("json");
    expect(viewPayload(bytes("42"), "text/plain").kind).toBe("text");
  });

  it("falls back to a hex dump for bytes that are not UTF-8", () => {
    const view = viewPayload(new Uint8Array([0x00, 0x41, 0xff, 0xfe]));
    expect(view.kind).toBe("binary");
    if (view.kind !== "binary") return;
    expect(view.hex).toBe(`00000000  00 41 ff fe ${" ".repeat(3 * 4)} ${" ".repeat(3 * 8)} .A..`);
    expect(view.raw).toContain("\uFFFD");
  });

  it("limits the hex dump of a large binary body", () => {
    const big = new Uint8Array(HEX_DUMP_LIMIT + 100).fill(0xff);
    const view = viewPayload(big);
    expect(view.kind === "binary" && view.shownBytes).toBe(HEX_DUMP_LIMIT);
    expect(view.kind === "binary" && view.hex.split("\n").length).toBe(HEX_DUMP_LIMIT / 16);
  });

  it("shows only the start of a very large body, as text, even when it is JSON", () => {
    const body = bytes(`{"s":"${"é".repeat(20)}"}`);
    const view = viewPayload(body, "application/json", 10);
    expect(view.kind).toBe("text");
    if (view.kind !== "text") return;
    expect(view.shownBytes).toBe(10);
    expect(view.raw.startsWith('{"s":"éé')).toBe(true);
  });

  it("says when the body is empty", () => {
    expect(viewPayload(new Uint8Array())).toEqual({ kind: "empty" });
  });
});

describe("reindentJson", () => {
  it("drops the sender's whitespace and keeps empty containers on one line", () => {
    expect(reindentJson('[ {  } ,\n\t[ ] , "x" ]')).toBe('[\n  {},\n  [],\n  "x"\n]');
  });
});

describe("hexDump", () => {
  it("numbers lines by offset and shows printable ASCII", () => {
    const dump = hexDump(bytes("0123456789abcdefXY"));
    expect(dump.split("\n")).toEqual([
      "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  0123456789abcdef",
      `00000010  58 59${" ".repeat(3 * 6 + 1 + 3 * 8)}  XY`,
    ]);
  });
});
