import { describe, expect, it } from "vitest";
import { canonicalNumber, compactJson, formatPath, parseJsonTree, stringValue, type JsonNode } from "./json-tree";

/** The tree of text known to be JSON. */
function tree(text: string, partial = false): JsonNode {
  const parsed = parseJsonTree(text, { partial });
  if (!parsed.ok) throw new Error(`${parsed.message} at ${parsed.offset}`);
  return parsed.root;
}

describe("parseJsonTree", () => {
  it("keeps every digit, key order, duplicate keys and escapes as written", () => {
    const root = tree('{"b":12345678901234567890,"a":"caf\\u00e9","a":[1.50,true,null]}');
    expect(root).toEqual({
      kind: "object",
      cut: false,
      entries: [
        { key: "b", rawKey: '"b"', value: { kind: "number", raw: "12345678901234567890" } },
        { key: "a", rawKey: '"a"', value: { kind: "string", raw: '"caf\\u00e9"', cut: false } },
        {
          key: "a",
          rawKey: '"a"',
          value: {
            kind: "array",
            cut: false,
            items: [
              { kind: "number", raw: "1.50" },
              { kind: "boolean", raw: "true" },
              { kind: "null", raw: "null" },
            ],
          },
        },
      ],
    });
  });

  it("decodes keys for paths, so an escaped key names the same member", () => {
    const root = tree('{"a\\"b\\u0041":1}');
    expect(root.kind === "object" && root.entries[0]?.key).toBe('a"bA');
  });

  it.each([
    ['{"a":1,}', "expected a key"],
    ["[1 2]", "expected ',' or a closing bracket"],
    ['{"a" 1}', "expected ':' after a key"],
    ["[1]]", "unexpected text after the JSON value"],
    ['["\\x"]', "invalid string"],
    ['["a\tb"]', "invalid string"],
    ["[1,", "unexpected end of the text"],
    ["[tru]", "expected a value"],
    ["", "no JSON value"],
    ["[}", "expected a value"],
  ])("refuses %j: %s", (text, message) => {
    expect(parseJsonTree(text)).toMatchObject({ ok: false, message });
  });

  it("agrees with JSON.parse on what is JSON, scalars at the top included", () => {
    for (const text of ['"x"', "-0.5e+3", "null", " [ ] ", '{"":{}}', "[[[[]]]]"]) {
      expect(parseJsonTree(text).ok, text).toBe(true);
    }
  });

  it("reads the start of a body the preview cut: open containers are cut, a cut string kept, a maybe-cut number left out", () => {
    const cutString = parseJsonTree('{"items":[{"id":1},{"name":"Ada Lov', { partial: true });
    expect(cutString.ok && cutString.cut).toBe(true);
    if (!cutString.ok) return;
    const items = cutString.root.kind === "object" ? cutString.root.entries[0]!.value : undefined;
    expect(items).toMatchObject({
      kind: "array",
      cut: true,
      items: [
        { kind: "object", cut: false },
        { kind: "object", cut: true },
      ],
    });
    const second = items?.kind === "array" ? items.items[1] : undefined;
    expect(second?.kind === "object" && second.entries[0]?.value).toEqual({ kind: "string", raw: '"Ada Lov', cut: true });

    const cutNumber = parseJsonTree("[1,2,12", { partial: true });
    expect(cutNumber.ok && cutNumber.root).toEqual({
      kind: "array",
      cut: true,
      items: [
        { kind: "number", raw: "1" },
        { kind: "number", raw: "2" },
      ],
    });
    for (const tail of ["[1,2.", "[1,-", "[1,tr", '{"a', '{"a":', '{"a":1,"b"', '["\\u00']) {
      expect(parseJsonTree(tail, { partial: true }).ok, tail).toBe(true);
    }
  });

  it("a cut text is still refused where it is not JSON before the cut", () => {
    expect(parseJsonTree("[1 2", { partial: true }).ok).toBe(false);
    expect(parseJsonTree("<html>", { partial: true }).ok).toBe(false);
  });

  it("parses nesting deeper than the call stack would allow", () => {
    const depth = 100_000;
    const parsed = parseJsonTree(`${"[".repeat(depth)}${"]".repeat(depth)}`);
    expect(parsed.ok).toBe(true);
  });
});

describe("stringValue", () => {
  it("resolves escapes, also in a string the preview cut, dropping a half escape", () => {
    expect(stringValue({ kind: "string", raw: '"a\\nb"', cut: false })).toBe("a\nb");
    expect(stringValue({ kind: "string", raw: '"caf\\u00', cut: true })).toBe("caf");
  });
});

describe("canonicalNumber", () => {
  it.each([
    ["1", "1.0", true],
    ["1", "10e-1", true],
    ["0", "-0.0", true],
    ["12345678901234567890", "12345678901234567891", false],
    ["1.5", "1.50", true],
    ["100", "1e2", true],
    ["-1", "1", false],
  ])("%s and %s are equal: %s", (a, b, equal) => {
    expect(canonicalNumber(a) === canonicalNumber(b)).toBe(equal);
  });
});

describe("compactJson", () => {
  it("writes a subtree on one line as the sender wrote its scalars", () => {
    expect(compactJson(tree('{ "a" : [ 1 , 12345678901234567890 ], "b" : { } }'))).toBe('{"a":[1,12345678901234567890],"b":{}}');
  });

  it("stops at the length asked for", () => {
    const text = compactJson(tree(JSON.stringify(Array.from({ length: 100_000 }, (_, i) => i))), 20);
    expect(text).toBe("[0,1,2,3,4,5,6,7,8,9…");
  });

  it("marks what a preview cut", () => {
    expect(compactJson(tree('{"a":["x', true))).toBe('{"a":["x……]…}');
  });
});

describe("formatPath", () => {
  it("writes names with dots, indexes in brackets and other keys quoted", () => {
    expect(formatPath([])).toBe("$");
    expect(formatPath(["data", "items", 3, "content-type", "a b", "_ok$"])).toBe('$.data.items[3]["content-type"]["a b"]._ok$');
  });
});

describe("formatPath of a very deep node", () => {
  it("keeps both ends and says how many levels it leaves out", () => {
    const path = formatPath(Array.from({ length: 1000 }, () => 0));
    expect(path).toBe(`$${"[0]".repeat(32)}…(936 levels)…${"[0]".repeat(32)}`);
  });
});
