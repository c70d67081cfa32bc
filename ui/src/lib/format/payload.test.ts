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
    expect(view).toEqual({ kind: "text", raw: "<script>alert(1)</script>", shownBytes: 25, partial: false });
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

  it("shows only the start of a very large JSON body, re-indented, and says it is partial", () => {
    const body = bytes(`{"s":"${"é".repeat(20)}","n":[1,2]}`);
    const view = viewPayload(body, "application/json", { limit: 10 });
    expect(view.kind).toBe("json");
    if (view.kind !== "json") return;
    expect(view).toMatchObject({ shownBytes: 10, partial: true });
    expect(view.raw.startsWith('{"s":"éé')).toBe(true);
    expect(view.pretty).toBe(reindentJson(view.raw));
    expect(view.pretty.startsWith("{\n  ")).toBe(true);
  });

  it("a preview the edge cut (size says more exists) is partial even under the limit, and a cut character is not an error", () => {
    const whole = bytes(`["${"€".repeat(1000)}"]`);
    const head = whole.subarray(0, 101); // cuts a 3-byte character
    const view = viewPayload(head, "", { size: whole.length });
    expect(view).toMatchObject({ kind: "json", partial: true, shownBytes: 101 });
    const text = viewPayload(bytes("plain words"), "", { size: 5000 });
    expect(text).toMatchObject({ kind: "text", partial: true, raw: "plain words" });
    expect(viewPayload(bytes('{"a":1}'))).toMatchObject({ kind: "json", partial: false });
  });

  it("a 10 MB JSON body is viewed from its 64 KiB preview: pretty, partial, never the whole body", () => {
    const big = bytes(JSON.stringify(Array.from({ length: 200_000 }, (_, i) => ({ id: i, tags: ["a", "b"], nested: { ok: true } }))));
    const view = viewPayload(big.subarray(0, 64 * 1024), "application/json", { size: big.length });
    expect(view).toMatchObject({ kind: "json", partial: true, shownBytes: 64 * 1024 });
    if (view.kind === "json") expect(view.pretty.split("\n").length).toBeGreaterThan(1000);
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
