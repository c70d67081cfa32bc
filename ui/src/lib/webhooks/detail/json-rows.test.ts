import { describe, expect, it } from "vitest";
import { reindentJson } from "$lib/format/payload";
import { DEFAULT_OPEN_LINES, JSON_PAGE, STRING_PREVIEW_CHARS, defaultOpen, jsonLine, jsonRows, showMore, toggled, type JsonRow } from "./json-rows";
import { parseJsonTree, type JsonNode } from "./json-tree";

function tree(text: string, partial = false): JsonNode {
  const parsed = parseJsonTree(text, { partial });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.root;
}

/** The viewer's text: each row's indent and line, or a marker for "more" and "cut" rows. */
function text(rows: JsonRow[]): string {
  return rows
    .map((r) => {
      const indent = "  ".repeat(r.depth);
      if (r.kind === "more") return `${indent}<${(r.total ?? 0) - (r.shown ?? 0)} more>`;
      if (r.kind === "cut") return `${indent}<cut>`;
      return (
        indent +
        jsonLine(r, { fullString: true })
          .tokens.map((t) => t.text)
          .join("")
      );
    })
    .join("\n");
}

/** Every container open with all its children. */
function allOpen(root: JsonNode): Map<string, number> {
  const open = new Map<string, number>();
  const walk = (node: JsonNode, id: string) => {
    const children = node.kind === "object" ? node.entries.map((e) => e.value) : node.kind === "array" ? node.items : undefined;
    if (!children) return;
    for (const [i, child] of children.entries()) walk(child, `${id}/${i}`);
    open.set(id, Number.MAX_SAFE_INTEGER);
  };
  walk(root, "");
  return open;
}

describe("jsonRows", () => {
  it("fully open, reads exactly like the body pretty-printed", () => {
    for (const body of [
      '{"type":"order.paid","order":{"id":12345678901234567890,"items":[1,2]},"note":"café ☕","e":{},"l":[]}',
      '[{"a":[[],[{}]]},"x",null,true,-1.5e3]',
      '{"a":"x","a":"dup","s":"with \\"quotes\\", commas: and {braces}"}',
      '"just a string"',
    ]) {
      const root = tree(body);
      expect(text(jsonRows(root, allOpen(root)))).toBe(reindentJson(body));
    }
  });

  it("a closed container reads {…} with its comma, and a summary beside it", () => {
    const root = tree('{"a":{"x":1,"y":2},"b":[1]}');
    const rows = jsonRows(root, new Map([["", JSON_PAGE]]));
    expect(text(rows)).toBe('{\n  "a": {…},\n  "b": […]\n}');
    expect(rows.map((r) => r.summary)).toEqual(["2 keys", "2 keys", "1 item", undefined]);
    expect(rows[1]).toMatchObject({ kind: "open", expanded: false, path: "$.a", nodeId: "/0" });
  });

  it("walks only what is open: a 200,000-item array shows a page and a “more” row", () => {
    const root = tree(JSON.stringify(Array.from({ length: 200_000 }, (_, i) => ({ id: i, tags: ["a"] }))));
    const rows = jsonRows(root, new Map([["", JSON_PAGE]]));
    expect(rows).toHaveLength(JSON_PAGE + 3);
    expect(rows.at(-2)).toMatchObject({ kind: "more", shown: JSON_PAGE, total: 200_000 });
    // The last shown item has its comma: more follow.
    expect(rows.at(-3)).toMatchObject({ kind: "open", comma: true, path: `$[${JSON_PAGE - 1}]` });
    const more = jsonRows(root, showMore(new Map([["", JSON_PAGE]]), ""));
    expect(more).toHaveLength(2 * JSON_PAGE + 3);
  });

  it("opens and closes one node", () => {
    const root = tree('{"a":{"x":1}}');
    const open = toggled(new Map([["", JSON_PAGE]]), "/0");
    expect(text(jsonRows(root, open))).toBe('{\n  "a": {\n    "x": 1\n  }\n}');
    expect(text(jsonRows(root, toggled(open, "/0")))).toBe('{\n  "a": {…}\n}');
  });

  it("marks where a preview ends", () => {
    const root = tree('{"items":[1,2,{"n":"Ad', true);
    expect(text(jsonRows(root, allOpen(root)))).toBe('{\n  "items": [\n    1,\n    2,\n    {\n      "n": "Ad…\n      <cut>\n    }\n    <cut>\n  ]\n  <cut>\n}');
  });

  it("gives the paths of keys that are not plain names in brackets", () => {
    const root = tree('{"content-type":{"a b":[0]}}');
    const rows = jsonRows(root, allOpen(root));
    expect(rows.filter((r) => r.kind !== "close").map((r) => r.path)).toEqual([
      "$",
      '$["content-type"]',
      '$["content-type"]["a b"]',
      '$["content-type"]["a b"][0]',
    ]);
  });
});

describe("jsonLine", () => {
  it("colours keys, strings, numbers and literals", () => {
    const root = tree('{"k":"v","n":1,"t":true}');
    const rows = jsonRows(root, allOpen(root));
    expect(rows.slice(1, 4).map((r) => jsonLine(r).tokens.map((t) => t.tone))).toEqual([
      ["key", "punctuation", "string", "punctuation"],
      ["key", "punctuation", "number", "punctuation"],
      ["key", "punctuation", "literal"],
    ]);
  });

  it("shows the start of a long string and says how much is left", () => {
    const long = "x".repeat(STRING_PREVIEW_CHARS * 3);
    const root = tree(JSON.stringify([long]));
    const row = jsonRows(root, allOpen(root))[1]!;
    const line = jsonLine(row);
    expect(line.tokens[0]!.text).toHaveLength(STRING_PREVIEW_CHARS);
    expect(line.hiddenChars).toBe(long.length + 2 - STRING_PREVIEW_CHARS);
    expect(jsonLine(row, { fullString: true }).hiddenChars).toBe(0);
  });
});

describe("defaultOpen", () => {
  it("opens a small body fully", () => {
    const body = '{"order":{"id":1,"items":[{"sku":"a"}]}}';
    const root = tree(body);
    expect(text(jsonRows(root, defaultOpen(root)))).toBe(reindentJson(body));
  });

  it("opens a large body level by level while a whole level fits, leaving deeper ones closed", () => {
    const body = JSON.stringify({
      type: "invoice.paid",
      data: { object: { lines: Array.from({ length: 150 }, (_, i) => ({ id: i, price: { amount: i } })) } },
    });
    const root = tree(body);
    const open = defaultOpen(root);
    const rows = jsonRows(root, open);
    expect(rows.length).toBeLessThanOrEqual(DEFAULT_OPEN_LINES);
    const lines = rows.find((r) => r.path === "$.data.object.lines");
    expect(lines).toMatchObject({ expanded: true });
    expect(rows.find((r) => r.path === "$.data.object.lines[0]")).toMatchObject({ kind: "open", expanded: false });
    expect(rows.find((r) => r.kind === "more")).toMatchObject({ shown: JSON_PAGE, total: 150 });
  });

  it("always opens the root, however large", () => {
    const root = tree(JSON.stringify(Array.from({ length: 5000 }, () => [1, 2, 3])));
    expect([...defaultOpen(root).keys()]).toEqual([""]);
  });
});
