/**
 * The lines the JSON viewer shows for a tree and what is open in it. Only open containers are
 * walked, and at most a page of each one's children, so a 1 MiB document with 200,000 items
 * costs about as many lines as are on screen. Fully open, the lines read exactly like the body
 * pretty-printed with two spaces (`reindentJson`), so selecting and copying them gives JSON.
 */
import { formatPath, type JsonNode, type PathSegment } from "./json-tree";

/** Children shown at a time when a container is opened; "Show more" adds as many again. */
export const JSON_PAGE = 100;

/** Characters of a long string shown before "Show all". */
export const STRING_PREVIEW_CHARS = 1_000;

/** Lines the viewer opens by itself for a new document (level by level, as long as a whole level fits). */
export const DEFAULT_OPEN_LINES = 300;

/**
 * What is open: a node's id (see {@link JsonRow.nodeId}) to how many of its children are shown.
 * A container that is not in it is closed.
 */
export type JsonOpenState = ReadonlyMap<string, number>;

/** One line of the viewer. */
export interface JsonRow {
  /** Unique among the rows (for keyed rendering). */
  id: string;
  kind: "open" | "close" | "scalar" | "more" | "cut";
  /** Nesting level: the line is indented by two spaces a level. */
  depth: number;
  /** Which node: child indexes from the root ("" for the root, "/0/3"), unique even with duplicate keys. */
  nodeId: string;
  /** The node's path as a person writes it ($.data.items[3]). */
  path: string;
  /** The key's literal (quotes included) when the node is an object member. */
  rawKey?: string;
  node: JsonNode;
  /** A comma ends the line (more siblings follow). */
  comma: boolean;
  /** For an "open" row: whether its children are shown (a closed one reads `{…}`), and whether it has any. */
  expanded?: boolean;
  empty?: boolean;
  /** "3 keys", "120 items" (shown beside a container, not part of its text). */
  summary?: string;
  /** For a "more" row: children shown so far and in all. */
  shown?: number;
  total?: number;
}

function childCount(node: JsonNode): number {
  return node.kind === "object" ? node.entries.length : node.kind === "array" ? node.items.length : 0;
}

function childAt(node: JsonNode, i: number): { segment: PathSegment; node: JsonNode; rawKey?: string } {
  if (node.kind === "object") {
    const e = node.entries[i]!;
    return { segment: e.key, node: e.value, rawKey: e.rawKey };
  }
  return { segment: i, node: (node as { items: JsonNode[] }).items[i]! };
}

/** "3 keys", "1 item". */
export function containerSummary(node: JsonNode): string {
  const n = childCount(node);
  const noun = node.kind === "object" ? "key" : "item";
  const cut = node.kind === "object" || node.kind === "array" ? node.cut : false;
  return `${n.toLocaleString("en")}${cut ? "+" : ""} ${noun}${n === 1 && !cut ? "" : "s"}`;
}

/**
 * The rows for `root` with `open` containers open. Walks only open containers, and of each
 * only the children `open` says are shown: the cost is the number of rows returned.
 */
export function jsonRows(root: JsonNode, open: JsonOpenState): JsonRow[] {
  const rows: JsonRow[] = [];
  // note: an explicit stack, so deep nesting that a person opened does not overflow the call stack.
  type Work = { node: JsonNode; nodeId: string; segments: PathSegment[]; depth: number; rawKey?: string; comma: boolean } | JsonRow;
  const work: Work[] = [{ node: root, nodeId: "", segments: [], depth: 0, comma: false }];
  while (work.length > 0) {
    const next = work.pop()!;
    if ("kind" in next) {
      rows.push(next);
      continue;
    }
    const { node, nodeId, segments, depth, rawKey, comma } = next;
    const path = formatPath(segments);
    const base = { nodeId, path, depth, node, ...(rawKey === undefined ? {} : { rawKey }) };
    if (node.kind !== "object" && node.kind !== "array") {
      rows.push({ ...base, id: nodeId, kind: "scalar", comma });
      continue;
    }
    const total = childCount(node);
    const empty = total === 0 && !node.cut;
    const shown = open.get(nodeId);
    const expanded = !empty && shown !== undefined;
    rows.push({ ...base, id: nodeId, kind: "open", comma: expanded ? false : comma, expanded, empty, summary: containerSummary(node) });
    if (!expanded) continue;
    const count = Math.min(total, Math.max(shown, 0));
    // Pushed in reverse: the stack hands them out in document order.
    work.push({ ...base, id: `${nodeId}#close`, kind: "close", comma });
    if (node.cut) work.push({ ...base, id: `${nodeId}#cut`, kind: "cut", depth: depth + 1, comma: false });
    if (count < total) work.push({ ...base, id: `${nodeId}#more`, kind: "more", depth: depth + 1, comma: false, shown: count, total });
    for (let i = count - 1; i >= 0; i--) {
      const child = childAt(node, i);
      work.push({
        node: child.node,
        nodeId: `${nodeId}/${i}`,
        segments: [...segments, child.segment],
        depth: depth + 1,
        ...(child.rawKey === undefined ? {} : { rawKey: child.rawKey }),
        comma: i < total - 1,
      });
    }
  }
  return rows;
}

/**
 * What a new document opens with: the root, then one level more at a time while the whole next
 * level (a page of each container's children) still fits in `budget` lines. A small body opens
 * fully; a large one shows its top levels and leaves the rest closed.
 */
export function defaultOpen(root: JsonNode, budget = DEFAULT_OPEN_LINES): Map<string, number> {
  const open = new Map<string, number>();
  let level: { node: JsonNode; nodeId: string }[] = [{ node: root, nodeId: "" }];
  let lines = 1;
  while (level.length > 0) {
    const containers = level.filter((c) => childCount(c.node) > 0);
    // Opening a container adds a page of children, its closing line, and a "more" or "cut" line.
    const added = containers.reduce((sum, c) => sum + Math.min(childCount(c.node), JSON_PAGE) + 2, 0);
    if (open.size > 0 && lines + added > budget) break;
    lines += added;
    const nextLevel: { node: JsonNode; nodeId: string }[] = [];
    for (const c of containers) {
      open.set(c.nodeId, JSON_PAGE);
      const count = Math.min(childCount(c.node), JSON_PAGE);
      for (let i = 0; i < count; i++) nextLevel.push({ node: childAt(c.node, i).node, nodeId: `${c.nodeId}/${i}` });
    }
    level = nextLevel;
  }
  return open;
}

/** `open` with the node opened (a page of children) or closed. */
export function toggled(open: JsonOpenState, nodeId: string): Map<string, number> {
  const next = new Map(open);
  if (next.has(nodeId)) next.delete(nodeId);
  else next.set(nodeId, JSON_PAGE);
  return next;
}

/** `open` with another page of the node's children shown. */
export function showMore(open: JsonOpenState, nodeId: string): Map<string, number> {
  const next = new Map(open);
  next.set(nodeId, (next.get(nodeId) ?? 0) + JSON_PAGE);
  return next;
}

/** How a piece of a line is coloured. */
export type JsonTone = "key" | "string" | "number" | "literal" | "punctuation";

/** A line's text after its indent, in coloured pieces, and how much of a long string it leaves out. */
export interface JsonLine {
  tokens: { text: string; tone: JsonTone }[];
  /** Characters of a long string not shown (0: all of it is). */
  hiddenChars: number;
}

/**
 * The text of an "open", "close" or "scalar" row after its indent, as pretty-printed JSON reads
 * (`"key": value,`). A string longer than {@link STRING_PREVIEW_CHARS} is cut there unless
 * `fullString`; a string the preview cut ends in "…".
 */
export function jsonLine(row: JsonRow, opts: { fullString?: boolean } = {}): JsonLine {
  const tokens: JsonLine["tokens"] = [];
  let hiddenChars = 0;
  if (row.rawKey !== undefined && row.kind !== "close") tokens.push({ text: row.rawKey, tone: "key" }, { text: ": ", tone: "punctuation" });
  const node = row.node;
  const [openBracket, closeBracket] = node.kind === "array" ? ["[", "]"] : ["{", "}"];
  switch (row.kind) {
    case "open":
      tokens.push({ text: row.empty ? openBracket + closeBracket : row.expanded ? openBracket : `${openBracket}…${closeBracket}`, tone: "punctuation" });
      break;
    case "close":
      tokens.push({ text: closeBracket, tone: "punctuation" });
      break;
    case "scalar": {
      const raw = node.kind === "object" || node.kind === "array" ? "" : node.raw;
      let text = raw;
      if (!opts.fullString && raw.length > STRING_PREVIEW_CHARS) {
        text = raw.slice(0, STRING_PREVIEW_CHARS);
        hiddenChars = raw.length - STRING_PREVIEW_CHARS;
      }
      if (node.kind === "string" && node.cut && hiddenChars === 0) text += "…";
      tokens.push({ text, tone: node.kind === "string" ? "string" : node.kind === "number" ? "number" : "literal" });
      break;
    }
    default:
      break;
  }
  if (row.comma) tokens.push({ text: ",", tone: "punctuation" });
  return { tokens, hiddenChars };
}
