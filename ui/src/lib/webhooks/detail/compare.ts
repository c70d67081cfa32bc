/**
 * What changed between two webhooks: their headers row by row, their JSON payloads path by path
 * (on the tree of json-tree.ts, so big numbers and escapes compare as values), and any other
 * payload line by line. Pure: the compare page fetches and shows.
 */
import { viewPayload } from "$lib/format/payload";
import { canonicalNumber, compactJson, formatPath, parseJsonTree, stringValue, type JsonNode, type PathSegment } from "./json-tree";

/** A header as the API gives it. */
export interface HeaderLike {
  name: string;
  value: string;
}

/** One header name in two webhooks: its values in each (several when it came more than once). */
export interface HeaderDiff {
  /** As the newer side spells it (the older one's when it is gone). */
  name: string;
  change: "same" | "changed" | "added" | "removed";
  before: string[];
  after: string[];
}

/**
 * The headers of `a` (before) and `b` (after) by name, case-insensitively: every name of `a` in
 * its order, then the names only `b` has. A name sent twice compares as its list of values, in
 * order. note: secret headers read "[redacted]" on both sides, so they compare as the same.
 */
export function diffHeaders(a: readonly HeaderLike[], b: readonly HeaderLike[]): HeaderDiff[] {
  const group = (headers: readonly HeaderLike[]) => {
    const byName = new Map<string, { name: string; values: string[] }>();
    for (const h of headers) {
      const key = h.name.toLowerCase();
      const entry = byName.get(key);
      if (entry) entry.values.push(h.value);
      else byName.set(key, { name: h.name, values: [h.value] });
    }
    return byName;
  };
  const before = group(a);
  const after = group(b);
  const out: HeaderDiff[] = [];
  for (const [key, old] of before) {
    const now = after.get(key);
    if (!now) out.push({ name: old.name, change: "removed", before: old.values, after: [] });
    else {
      const same = old.values.length === now.values.length && old.values.every((v, i) => v === now.values[i]);
      out.push({ name: now.name, change: same ? "same" : "changed", before: old.values, after: now.values });
    }
  }
  for (const [key, now] of after) {
    if (!before.has(key)) out.push({ name: now.name, change: "added", before: [], after: now.values });
  }
  return out;
}

/** One difference between two JSON documents. */
export interface JsonChange {
  /** Where, JSONPath style ($.data.object.amount, $.items[2]). */
  path: string;
  change: "changed" | "added" | "removed";
  /** The value before and after, on one line (long ones cut with "…"); absent on the side that has none. */
  before?: string;
  after?: string;
  /** For a change: the kinds differ ("number → string", "object → null"). */
  typeChange?: string;
}

/** At most this many changes are listed (the rest are counted). */
export const JSON_CHANGE_LIMIT = 500;

/** How a kind of node is named in a type change. */
const KIND_NAMES: Record<JsonNode["kind"], string> = { object: "object", array: "array", string: "string", number: "number", boolean: "boolean", null: "null" };

/**
 * The differences from `a` (before) to `b` (after), in document order: a path whose value
 * changed (with both values; a change of type is marked), and members or items only one side
 * has. Objects compare by key, whatever the order (a key written twice counts once, with its last
 * value, as JSON.parse would read it); arrays compare item by item at the same index. Numbers
 * compare as values (1.0 is 1; big integers digit by digit), strings after their escapes.
 * Equal documents give no changes. Lists at most `limit` changes; `more` counts the rest.
 */
export function diffJson(a: JsonNode, b: JsonNode, limit = JSON_CHANGE_LIMIT): { changes: JsonChange[]; more: number } {
  const changes: JsonChange[] = [];
  let more = 0;
  const record = (change: JsonChange) => {
    if (changes.length < limit) changes.push(change);
    else more++;
  };
  // note: an explicit stack (deep documents), children pushed in reverse so changes come out in document order;
  // paths are linked to their parent and written out only for a change (no copying per level).
  const work: { a: JsonNode | undefined; b: JsonNode | undefined; path: LinkedPath | undefined }[] = [{ a, b, path: undefined }];
  while (work.length > 0) {
    const next = work.pop()!;
    const at = (segment: PathSegment): LinkedPath => ({ parent: next.path, segment });
    if (!next.a) {
      record({ path: pathOf(next.path), change: "added", after: compactJson(next.b!) });
      continue;
    }
    if (!next.b) {
      record({ path: pathOf(next.path), change: "removed", before: compactJson(next.a) });
      continue;
    }
    const x = next.a;
    const y = next.b;
    if (x.kind !== y.kind) {
      const typeChange = `${KIND_NAMES[x.kind]} → ${KIND_NAMES[y.kind]}`;
      record({ path: pathOf(next.path), change: "changed", before: compactJson(x), after: compactJson(y), typeChange });
      continue;
    }
    if (x.kind === "object" && y.kind === "object") {
      const left = lastByKey(x);
      const right = lastByKey(y);
      const pairs: (typeof work)[number][] = [];
      for (const [key, value] of left) pairs.push({ a: value, b: right.get(key), path: at(key) });
      for (const [key, value] of right) if (!left.has(key)) pairs.push({ a: undefined, b: value, path: at(key) });
      for (let i = pairs.length - 1; i >= 0; i--) work.push(pairs[i]!);
      continue;
    }
    if (x.kind === "array" && y.kind === "array") {
      for (let i = Math.max(x.items.length, y.items.length) - 1; i >= 0; i--) work.push({ a: x.items[i], b: y.items[i], path: at(i) });
      continue;
    }
    if (!sameScalar(x, y)) record({ path: pathOf(next.path), change: "changed", before: compactJson(x), after: compactJson(y) });
  }
  return { changes, more };
}

/** A path as a chain from the node to the root. */
type LinkedPath = { parent: LinkedPath | undefined; segment: PathSegment };

function pathOf(path: LinkedPath | undefined): string {
  const segments: PathSegment[] = [];
  for (let p = path; p; p = p.parent) segments.push(p.segment);
  return formatPath(segments.reverse());
}

function lastByKey(node: Extract<JsonNode, { kind: "object" }>): Map<string, JsonNode> {
  const byKey = new Map<string, JsonNode>();
  for (const e of node.entries) {
    // note: delete first, so a repeated key takes its last position as well as its last value.
    byKey.delete(e.key);
    byKey.set(e.key, e.value);
  }
  return byKey;
}

function sameScalar(x: JsonNode, y: JsonNode): boolean {
  if (x.kind === "string" && y.kind === "string") return x.raw === y.raw || stringValue(x) === stringValue(y);
  if (x.kind === "number" && y.kind === "number") return x.raw === y.raw || canonicalNumber(x.raw) === canonicalNumber(y.raw);
  return "raw" in x && "raw" in y && x.raw === y.raw;
}

/** One line of a line diff: in both, only before (removed) or only after (added), with its line numbers. */
export interface LineChange {
  change: "same" | "added" | "removed";
  text: string;
  /** 1-based line numbers in before and after, where it is in them. */
  beforeLine?: number;
  afterLine?: number;
}

/** Past this many differing lines (edit distance), the middle of a line diff is shown as all removed, then all added. */
export const LINE_DIFF_MAX_EDITS = 1_000;

/**
 * A line diff of two texts (Myers' algorithm on what is left once the common start and end are
 * set aside): every line of both, in order, as same, removed or added. Texts that differ in more
 * than `maxEdits` lines are not searched further: their differing middle is given as removed,
 * then added, which is correct, only not the shortest.
 */
export function diffLines(before: string, after: string, maxEdits = LINE_DIFF_MAX_EDITS): LineChange[] {
  const a = before === "" ? [] : before.split("\n");
  const b = after === "" ? [] : after.split("\n");
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: LineChange[] = [];
  for (let i = 0; i < start; i++) out.push({ change: "same", text: a[i]!, beforeLine: i + 1, afterLine: i + 1 });
  const middle = myers(a.slice(start, endA), b.slice(start, endB), maxEdits);
  for (const op of middle) {
    const beforeLine = op.i === undefined ? undefined : start + op.i + 1;
    const afterLine = op.j === undefined ? undefined : start + op.j + 1;
    out.push({ change: op.change, text: op.text, ...(beforeLine === undefined ? {} : { beforeLine }), ...(afterLine === undefined ? {} : { afterLine }) });
  }
  for (let k = 0; k < a.length - endA; k++) out.push({ change: "same", text: a[endA + k]!, beforeLine: endA + k + 1, afterLine: endB + k + 1 });
  return out;
}

type Op = { change: LineChange["change"]; text: string; i?: number; j?: number };

/** Myers' O(ND) diff; gives up past `maxEdits` edits (then: all of a removed, all of b added). */
function myers(a: string[], b: string[], maxEdits: number): Op[] {
  const n = a.length;
  const m = b.length;
  const replaceAll = (): Op[] => [
    ...a.map((text, i) => ({ change: "removed" as const, text, i })),
    ...b.map((text, j) => ({ change: "added" as const, text, j })),
  ];
  if (n === 0 || m === 0) return replaceAll();
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    // note: only diagonals -d…d can matter when walking back from step d: O(D²) memory, not O((N+M)·D).
    trace.push(v.slice(offset - d, offset + d + 1));
    const next = v;
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    v = next;
  }
  if (found < 0) return replaceAll();
  // Walk the trace back from (n, m) to (0, 0).
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const trail = trace[d]!;
    const prev = (diagonal: number) => trail[diagonal + d]!;
    const k = x - y;
    const down = k === -d || (k !== d && prev(k - 1) < prev(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = prev(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      ops.push({ change: "same", text: a[x]!, i: x, j: y });
    }
    if (down) {
      y--;
      ops.push({ change: "added", text: b[y]!, j: y });
    } else {
      x--;
      ops.push({ change: "removed", text: a[x]!, i: x });
    }
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    ops.push({ change: "same", text: a[x]!, i: x, j: y });
  }
  return ops.reverse();
}

/** A run of lines to show, or of unchanged lines folded away (until a person opens them). */
export type LineHunk = { kind: "lines" | "folded"; lines: LineChange[] };

/** Folds runs of unchanged lines, keeping `context` lines around each change. */
export function foldUnchanged(lines: readonly LineChange[], context = 3): LineHunk[] {
  const keep = new Uint8Array(lines.length);
  lines.forEach((l, i) => {
    if (l.change === "same") return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = 1;
  });
  const hunks: LineHunk[] = [];
  for (let i = 0; i < lines.length; ) {
    let j = i;
    while (j < lines.length && keep[j] === keep[i]) j++;
    hunks.push({ kind: keep[i] ? "lines" : "folded", lines: lines.slice(i, j) });
    i = j;
  }
  return hunks;
}

/**
 * The first `max` lines of `hunks` to render (a folded run counts as one line, its fold), and how
 * many lines that leaves out: a diff of two 1 MiB bodies never puts 50,000 lines in the page at once.
 */
export function firstLines(hunks: readonly LineHunk[], max: number): { hunks: LineHunk[]; hidden: number } {
  const out: LineHunk[] = [];
  let budget = max;
  let hidden = 0;
  for (const hunk of hunks) {
    if (hunk.kind === "folded") {
      if (budget > 0) {
        out.push(hunk);
        budget--;
      } else hidden += hunk.lines.length;
      continue;
    }
    const take = Math.min(budget, hunk.lines.length);
    if (take > 0) out.push(take === hunk.lines.length ? hunk : { kind: "lines", lines: hunk.lines.slice(0, take) });
    hidden += hunk.lines.length - take;
    budget -= take;
  }
  return { hunks: out, hidden };
}

/** A webhook in a list, as far as finding the previous one needs. */
export interface ListedWebhook {
  id: string;
  receivedAtMs: number;
}

/**
 * The webhook received just before `current` on the same endpoint, from a list of that
 * endpoint's webhooks newest first that reaches at least to `current` (ListWebhooks with `until`
 * just after it): the one listed after it; if it is not listed, the newest one received before
 * it. Undefined when there is none.
 */
export function previousWebhook<T extends ListedWebhook>(newestFirst: readonly T[], current: ListedWebhook): T | undefined {
  const at = newestFirst.findIndex((w) => w.id === current.id);
  if (at >= 0) return newestFirst[at + 1];
  return newestFirst.find((w) => w.receivedAtMs < current.receivedAtMs && w.id !== current.id);
}

/** One webhook's payload as GetWebhook gives it. */
export interface PayloadSide {
  /** The bytes at hand: all of the body, or its start when the preview was cut. */
  payload: Uint8Array;
  /** The whole body's size. */
  size: number;
  contentType: string;
  /** SHA-256 of the whole body (hex); empty when unknown. */
  sha256: string;
}

/** Lines of each side a line diff reads at most (a body of more is compared up to there, and says so). */
export const LINE_DIFF_MAX_LINES = 20_000;

/** How two payloads compare. */
export type PayloadComparison =
  /** The same bytes (same size and SHA-256). */
  | { kind: "identical" }
  /** Both whole JSON: the paths that differ (none: equal as JSON, spelled differently). */
  | { kind: "json"; changes: JsonChange[]; more: number }
  /**
   * Line by line: JSON that is not whole re-indented, text as it is, binary as a hex dump.
   * `partial` when a side is only the start of its body (a cut preview, or more lines than read).
   */
  | { kind: "lines"; lines: LineChange[]; partial: boolean; as: "json" | "text" | "hex" };

/**
 * Compares two payloads: identical bytes; else, when both are whole JSON documents, path by path
 * ({@link diffJson}); else line by line ({@link diffLines}) on what each side shows as text.
 */
export function comparePayloads(a: PayloadSide, b: PayloadSide): PayloadComparison {
  if (a.size === b.size && a.sha256 !== "" && a.sha256 === b.sha256) return { kind: "identical" };
  const va = viewPayload(a.payload, a.contentType, { size: a.size });
  const vb = viewPayload(b.payload, b.contentType, { size: b.size });
  if (va.kind === "json" && vb.kind === "json" && !va.partial && !vb.partial) {
    const ta = parseJsonTree(va.raw);
    const tb = parseJsonTree(vb.raw);
    if (ta.ok && tb.ok) return { kind: "json", ...diffJson(ta.root, tb.root) };
  }
  let partial = false;
  const text = (v: ReturnType<typeof viewPayload>, size: number): string => {
    let out: string;
    switch (v.kind) {
      case "empty":
        return "";
      case "json":
        out = v.pretty;
        partial ||= v.partial;
        break;
      case "text":
        out = v.raw;
        partial ||= v.partial;
        break;
      case "binary":
        out = v.hex;
        partial ||= v.shownBytes < size;
        break;
    }
    const lines = out.split("\n");
    if (lines.length <= LINE_DIFF_MAX_LINES) return out;
    partial = true;
    return lines.slice(0, LINE_DIFF_MAX_LINES).join("\n");
  };
  const ta = text(va, a.size);
  const tb = text(vb, b.size);
  const as = va.kind === "binary" || vb.kind === "binary" ? "hex" : va.kind === "json" && vb.kind === "json" ? "json" : "text";
  return { kind: "lines", lines: diffLines(ta, tb), partial, as };
}

/**
 * A webhook id from what a person pasted: an id, or any text holding one (the detail page's URL).
 * The text itself, trimmed, when no `wh_` id is in it (the edge then says it names nothing).
 */
export function webhookIdFrom(text: string): string {
  return /\bwh_[A-Za-z0-9_-]+/.exec(text)?.[0] ?? text.trim();
}
