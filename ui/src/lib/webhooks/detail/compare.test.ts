import { describe, expect, it } from "vitest";
import {
  LINE_DIFF_MAX_LINES,
  comparePayloads,
  diffHeaders,
  firstLines,
  diffJson,
  diffLines,
  foldUnchanged,
  previousWebhook,
  webhookIdFrom,
  type LineChange,
} from "./compare";
import { parseJsonTree, type JsonNode } from "./json-tree";

function tree(text: string): JsonNode {
  const parsed = parseJsonTree(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.root;
}

const jsonDiff = (a: string, b: string, limit?: number) => diffJson(tree(a), tree(b), limit);

describe("diffHeaders", () => {
  it("lists every name of the older side in order, then the new ones, case-insensitively", () => {
    const before = [
      { name: "Content-Type", value: "application/json" },
      { name: "webhook-id", value: "msg_1" },
      { name: "X-Old", value: "gone" },
      { name: "Authorization", value: "[redacted]" },
    ];
    const after = [
      { name: "content-type", value: "application/json" },
      { name: "webhook-id", value: "msg_2" },
      { name: "Authorization", value: "[redacted]" },
      { name: "X-New", value: "here" },
    ];
    expect(diffHeaders(before, after)).toEqual([
      { name: "content-type", change: "same", before: ["application/json"], after: ["application/json"] },
      { name: "webhook-id", change: "changed", before: ["msg_1"], after: ["msg_2"] },
      { name: "X-Old", change: "removed", before: ["gone"], after: [] },
      { name: "Authorization", change: "same", before: ["[redacted]"], after: ["[redacted]"] },
      { name: "X-New", change: "added", before: [], after: ["here"] },
    ]);
  });

  it("compares a repeated header as its values in order", () => {
    const a = [
      { name: "Via", value: "1" },
      { name: "Via", value: "2" },
    ];
    expect(diffHeaders(a, [a[1]!, a[0]!])[0]).toMatchObject({ change: "changed", before: ["1", "2"], after: ["2", "1"] });
    expect(diffHeaders(a, a)[0]).toMatchObject({ change: "same" });
    expect(diffHeaders(a, [a[0]!])[0]).toMatchObject({ change: "changed", after: ["1"] });
  });

  it("gives nothing for two webhooks without headers", () => {
    expect(diffHeaders([], [])).toEqual([]);
  });
});

describe("diffJson", () => {
  it("finds nothing between equal documents, whatever their key order, spacing, number spelling or escapes", () => {
    expect(jsonDiff('{"a":1,"b":[1,{"c":"é"}]}', '{ "b" : [1.0, {"c":"\\u00e9"}], "a" : 10e-1 }')).toEqual({ changes: [], more: 0 });
  });

  it("gives the path of a changed value deep in objects and arrays, with both values", () => {
    const { changes } = jsonDiff(
      '{"data":{"object":{"amount":1200,"lines":[{"sku":"a"},{"sku":"b"}]}}}',
      '{"data":{"object":{"amount":1500,"lines":[{"sku":"a"},{"sku":"c"}]}}}',
    );
    expect(changes).toEqual([
      { path: "$.data.object.amount", change: "changed", before: "1200", after: "1500" },
      { path: "$.data.object.lines[1].sku", change: "changed", before: '"b"', after: '"c"' },
    ]);
  });

  it("lists added and removed members and items, with their values", () => {
    const { changes } = jsonDiff('{"keep":1,"gone":{"x":[1,2]},"list":[1,2,3]}', '{"keep":1,"list":[1,2],"new":true}');
    expect(changes).toEqual([
      { path: "$.gone", change: "removed", before: '{"x":[1,2]}' },
      { path: "$.list[2]", change: "removed", before: "3" },
      { path: "$.new", change: "added", after: "true" },
    ]);
    expect(jsonDiff("[1]", "[1,[2]]").changes).toEqual([{ path: "$[1]", change: "added", after: "[2]" }]);
  });

  it("marks a change of type, containers and null included", () => {
    expect(jsonDiff('{"n":1,"o":{"a":1},"s":"1"}', '{"n":"1","o":null,"s":["1"]}').changes).toEqual([
      { path: "$.n", change: "changed", before: "1", after: '"1"', typeChange: "number → string" },
      { path: "$.o", change: "changed", before: '{"a":1}', after: "null", typeChange: "object → null" },
      { path: "$.s", change: "changed", before: '"1"', after: '["1"]', typeChange: "string → array" },
    ]);
    expect(jsonDiff("true", "false").changes).toEqual([{ path: "$", change: "changed", before: "true", after: "false" }]);
  });

  it("compares big integers digit by digit", () => {
    expect(jsonDiff('{"id":12345678901234567890}', '{"id":12345678901234567891}').changes).toEqual([
      { path: "$.id", change: "changed", before: "12345678901234567890", after: "12345678901234567891" },
    ]);
  });

  it("reads a repeated key as its last value, as JSON.parse does", () => {
    expect(jsonDiff('{"a":1,"a":2}', '{"a":2}').changes).toEqual([]);
  });

  it("quotes keys that are not plain names in the path", () => {
    expect(jsonDiff('{"content-type":{"a b":1}}', '{"content-type":{"a b":2}}').changes[0]?.path).toBe('$["content-type"]["a b"]');
  });

  it("lists at most the limit and counts the rest", () => {
    const a = JSON.stringify(Array.from({ length: 50 }, (_, i) => i));
    const b = JSON.stringify(Array.from({ length: 50 }, (_, i) => i + 1));
    const { changes, more } = jsonDiff(a, b, 10);
    expect(changes).toHaveLength(10);
    expect(more).toBe(40);
  });

  it("walks documents nested deeper than the call stack would allow", () => {
    const deep = (leaf: string) => `${"[".repeat(50_000)}${leaf}${"]".repeat(50_000)}`;
    expect(jsonDiff(deep("1"), deep("2")).changes).toHaveLength(1);
  });
});

/** The two texts a line diff stands for. */
function sides(lines: LineChange[]): [string, string] {
  return [
    lines
      .filter((l) => l.change !== "added")
      .map((l) => l.text)
      .join("\n"),
    lines
      .filter((l) => l.change !== "removed")
      .map((l) => l.text)
      .join("\n"),
  ];
}

/** The fewest added plus removed lines (a longest common subsequence the slow way). */
function minimalEdits(a: string[], b: string[]): number {
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  return a.length + b.length - 2 * lcs[0]![0]!;
}

describe("diffLines", () => {
  it("marks removed and added lines with their line numbers", () => {
    expect(diffLines("a\nb\nc", "a\nx\nc")).toEqual([
      { change: "same", text: "a", beforeLine: 1, afterLine: 1 },
      { change: "removed", text: "b", beforeLine: 2 },
      { change: "added", text: "x", afterLine: 2 },
      { change: "same", text: "c", beforeLine: 3, afterLine: 3 },
    ]);
  });

  it("gives equal texts as all the same, and an empty side as all added or removed", () => {
    expect(diffLines("a\nb", "a\nb").every((l) => l.change === "same")).toBe(true);
    expect(diffLines("", "a\nb").map((l) => l.change)).toEqual(["added", "added"]);
    expect(diffLines("a", "").map((l) => l.change)).toEqual(["removed"]);
  });

  it("on random texts, stands for both sides and is as short as possible", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let round = 0; round < 300; round++) {
      const lines = () => Array.from({ length: Math.floor(random() * 12) }, () => "abcd"[Math.floor(random() * 4)]!);
      const a = lines();
      const b = lines();
      const out = diffLines(a.join("\n"), b.join("\n"));
      expect(sides(out)).toEqual([a.join("\n"), b.join("\n")]);
      expect(out.filter((l) => l.change !== "same")).toHaveLength(minimalEdits(a, b));
    }
  });

  it("past the edit limit, still stands for both sides (the middle removed, then added)", () => {
    const a = Array.from({ length: 50 }, (_, i) => `a${i}`).join("\n");
    const b = Array.from({ length: 50 }, (_, i) => `b${i}`).join("\n");
    const out = diffLines(`same\n${a}\nend`, `same\n${b}\nend`, 10);
    expect(sides(out)).toEqual([`same\n${a}\nend`, `same\n${b}\nend`]);
    expect(out.slice(1, 51).every((l) => l.change === "removed")).toBe(true);
  });
});

describe("foldUnchanged", () => {
  it("keeps context around changes and folds the rest", () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const after = [...before];
    after[10] = "changed";
    const hunks = foldUnchanged(diffLines(before.join("\n"), after.join("\n")), 2);
    expect(hunks.map((h) => (h.kind === "folded" ? `…${h.lines.length}` : h.lines.map((l) => l.text).join(",")))).toEqual([
      "…8",
      "l8,l9,l10,changed,l11,l12",
      "…7",
    ]);
  });
});

describe("firstLines", () => {
  it("takes lines up to the budget, a fold counting as one, and counts what it leaves out", () => {
    const before = Array.from({ length: 30 }, (_, i) => `l${i}`);
    const after = before.map((l, i) => (i === 2 || i === 20 ? `${l}!` : l));
    const hunks = foldUnchanged(diffLines(before.join("\n"), after.join("\n")), 1);
    // [fold of l0] [l1, -l2, +l2!, l3] [fold of 15] [l19, -l20, +l20!, l21] [fold of 8]
    const all = hunks.reduce((n, h) => n + h.lines.length, 0);
    const { hunks: shown, hidden } = firstLines(hunks, 7);
    expect(shown.map((h) => h.kind)).toEqual(["folded", "lines", "folded", "lines"]);
    expect(shown[3]!.lines.map((l) => l.text)).toEqual(["l19"]);
    expect(shown.reduce((n, h) => n + (h.kind === "folded" ? 1 : h.lines.length), 0)).toBe(7);
    expect(hidden + shown.reduce((n, h) => n + h.lines.length, 0)).toBe(all);
    expect(firstLines(hunks, 1000)).toEqual({ hunks, hidden: 0 });
  });
});

describe("previousWebhook", () => {
  const list = [
    { id: "wh_3", receivedAtMs: 30 },
    { id: "wh_2", receivedAtMs: 20 },
    { id: "wh_2b", receivedAtMs: 20 },
    { id: "wh_1", receivedAtMs: 10 },
  ];

  it("is the one listed after it (received in the same millisecond included)", () => {
    expect(previousWebhook(list, { id: "wh_2", receivedAtMs: 20 })?.id).toBe("wh_2b");
    expect(previousWebhook(list, { id: "wh_3", receivedAtMs: 30 })?.id).toBe("wh_2");
  });

  it("is none for the oldest, and the newest before it when it is not listed", () => {
    expect(previousWebhook(list, { id: "wh_1", receivedAtMs: 10 })).toBeUndefined();
    expect(previousWebhook(list, { id: "wh_x", receivedAtMs: 25 })?.id).toBe("wh_2");
  });
});

describe("comparePayloads", () => {
  const side = (body: string | Uint8Array, opts: { size?: number; sha256?: string; contentType?: string } = {}) => {
    const payload = typeof body === "string" ? new TextEncoder().encode(body) : body;
    return { payload, size: opts.size ?? payload.length, contentType: opts.contentType ?? "", sha256: opts.sha256 ?? "" };
  };

  it("says identical for the same bytes", () => {
    expect(comparePayloads(side("{}", { sha256: "ab" }), side("{}", { sha256: "ab" }))).toEqual({ kind: "identical" });
  });

  it("compares two whole JSON bodies path by path", () => {
    expect(comparePayloads(side('{"a":1}'), side('{"a":2}'))).toEqual({
      kind: "json",
      changes: [{ path: "$.a", change: "changed", before: "1", after: "2" }],
      more: 0,
    });
    expect(comparePayloads(side('{"a":1}'), side('{ "a": 1.0 }'))).toEqual({ kind: "json", changes: [], more: 0 });
  });

  it("compares text line by line", () => {
    const out = comparePayloads(side("a=1\nb=2", { contentType: "text/plain" }), side("a=1\nb=3"));
    expect(out).toMatchObject({ kind: "lines", as: "text", partial: false });
    expect(out.kind === "lines" && out.lines.map((l) => l.change)).toEqual(["same", "removed", "added"]);
  });

  it("compares JSON against text, or a cut preview, line by line and says when a side is partial", () => {
    const cut = comparePayloads(side('{"a":[1,2', { size: 5000 }), side('{"a":[1,3]}'));
    expect(cut).toMatchObject({ kind: "lines", as: "json", partial: true });
    expect(comparePayloads(side('{"a":1}'), side("plain"))).toMatchObject({ kind: "lines", as: "text", partial: false });
  });

  it("compares binary bodies as hex dumps", () => {
    expect(comparePayloads(side(new Uint8Array([0xff, 1])), side(new Uint8Array([0xff, 2])))).toMatchObject({ kind: "lines", as: "hex" });
  });

  it("reads at most LINE_DIFF_MAX_LINES lines of a side and says so", () => {
    const long = Array.from({ length: LINE_DIFF_MAX_LINES + 10 }, (_, i) => `line ${i}`).join("\n");
    const out = comparePayloads(side(long), side("line 0"));
    expect(out).toMatchObject({ kind: "lines", partial: true });
    expect(out.kind === "lines" && out.lines.filter((l) => l.change !== "added")).toHaveLength(LINE_DIFF_MAX_LINES);
  });
});

describe("webhookIdFrom", () => {
  it("finds the id in a pasted id or link, and keeps other text as it is", () => {
    expect(webhookIdFrom(" wh_AbC-1_2 ")).toBe("wh_AbC-1_2");
    expect(webhookIdFrom("https://hookly.example/webhooks/wh_x9?tab=1")).toBe("wh_x9");
    expect(webhookIdFrom(" something ")).toBe("something");
  });
});
