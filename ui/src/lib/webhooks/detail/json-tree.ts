/**
 * A JSON document as a tree that keeps what the sender wrote: scalars keep their literal text
 * (every digit of a big number, string escapes as sent), objects keep key order and duplicate
 * keys. Both the payload viewer and the payload diff read it; neither goes through `JSON.parse`
 * values, which would round 12345678901234567890 and drop duplicate keys.
 */

/** One value of the tree. */
export type JsonNode = JsonObject | JsonArray | JsonString | JsonScalar;

/** An object; `cut` when the text ended before its closing brace (a preview). */
export interface JsonObject {
  kind: "object";
  entries: JsonEntry[];
  cut: boolean;
}

/** One member of an object, in the order written. */
export interface JsonEntry {
  /** The key decoded (escapes resolved): what a path names. */
  key: string;
  /** The key's literal, quotes included, as written. */
  rawKey: string;
  value: JsonNode;
}

/** An array; `cut` when the text ended before its closing bracket. */
export interface JsonArray {
  kind: "array";
  items: JsonNode[];
  cut: boolean;
}

/** A string literal, quotes included; `cut` (and no closing quote) when the text ended inside it. */
export interface JsonString {
  kind: "string";
  raw: string;
  cut: boolean;
}

/** A number, true, false or null, as written. */
export interface JsonScalar {
  kind: "number" | "boolean" | "null";
  raw: string;
}

/** What {@link parseJsonTree} found: the tree (`cut` when a partial text ended inside it), or where it stopped making sense. */
export type JsonParse = { ok: true; root: JsonNode; cut: boolean } | { ok: false; offset: number; message: string };

type Expect = "value" | "value-or-close" | "key" | "key-or-close" | "colon" | "comma-or-close" | "end";

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ["true", "false", "null"] as const;

/**
 * Parses JSON text into a {@link JsonNode} tree. With `partial` (the text is only the start of
 * the body, as in the edge's preview) running out of text is not an error: the containers still
 * open are marked `cut`, a string cut short is kept (marked), and a number, literal or key that
 * may have been cut is left out. Anything else that is not JSON fails with its offset.
 * note: iterative, so a document nested 100,000 deep does not overflow the stack.
 */
export function parseJsonTree(text: string, opts: { partial?: boolean } = {}): JsonParse {
  const partial = opts.partial ?? false;
  const n = text.length;
  const stack: { node: JsonObject | JsonArray; key: { key: string; rawKey: string } | undefined }[] = [];
  let root: JsonNode | undefined;
  let expect: Expect = "value";
  let i = 0;
  const fail = (message: string): JsonParse => ({ ok: false, offset: i, message });

  const attach = (value: JsonNode) => {
    const top = stack.at(-1);
    if (!top) root = value;
    else if (top.node.kind === "array") top.node.items.push(value);
    else {
      top.node.entries.push({ key: top.key!.key, rawKey: top.key!.rawKey, value });
      top.key = undefined;
    }
  };
  const afterValue = (): Expect => (stack.length === 0 ? "end" : "comma-or-close");
  const close = (ch: string): boolean => {
    const top = stack.at(-1);
    if (!top || (ch === "}") !== (top.node.kind === "object")) return false;
    stack.pop();
    i++;
    expect = afterValue();
    return true;
  };

  for (;;) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const ch = text[i]!;
    switch (expect) {
      case "end":
        return fail("unexpected text after the JSON value");
      case "colon":
        if (ch !== ":") return fail("expected ':' after a key");
        i++;
        expect = "value";
        continue;
      case "comma-or-close":
        if (ch === ",") {
          i++;
          expect = stack.at(-1)!.node.kind === "array" ? "value" : "key";
          continue;
        }
        if ((ch === "]" || ch === "}") && close(ch)) continue;
        return fail("expected ',' or a closing bracket");
      case "key-or-close":
      case "key": {
        if (expect === "key-or-close" && ch === "}" && close(ch)) continue;
        if (ch !== '"') return fail("expected a key");
        const end = stringEnd(text, i);
        if (end === -1) break; // ran out of text inside a key
        if (end === -2) return fail("invalid string");
        const rawKey = text.slice(i, end);
        stack.at(-1)!.key = { key: rawKey.includes("\\") ? (JSON.parse(rawKey) as string) : rawKey.slice(1, -1), rawKey };
        i = end;
        expect = "colon";
        continue;
      }
      case "value-or-close":
      case "value": {
        if (expect === "value-or-close" && ch === "]" && close(ch)) continue;
        if (ch === "{" || ch === "[") {
          const node: JsonObject | JsonArray = ch === "{" ? { kind: "object", entries: [], cut: false } : { kind: "array", items: [], cut: false };
          attach(node);
          stack.push({ node, key: undefined });
          i++;
          expect = ch === "{" ? "key-or-close" : "value-or-close";
          continue;
        }
        if (ch === '"') {
          const end = stringEnd(text, i);
          if (end === -2) return fail("invalid string");
          if (end === -1) {
            if (!partial) return fail("unterminated string");
            attach({ kind: "string", raw: text.slice(i), cut: true });
            i = n;
            break;
          }
          attach({ kind: "string", raw: text.slice(i, end), cut: false });
          i = end;
          expect = afterValue();
          continue;
        }
        // note: a number that ends the text of a preview may have lost digits ("12" of "1234", "1." of "1.5"): left out.
        if (partial && n - i <= 64 && /^-?[\d.eE+-]*$/.test(text.slice(i))) {
          i = n;
          break;
        }
        NUMBER.lastIndex = i;
        const num = NUMBER.exec(text);
        if (num) {
          const end = i + num[0].length;
          attach({ kind: "number", raw: num[0] });
          i = end;
          expect = afterValue();
          continue;
        }
        const literal = LITERALS.find((l) => text.startsWith(l, i));
        if (literal) {
          attach({ kind: literal === "null" ? "null" : "boolean", raw: literal });
          i += literal.length;
          expect = afterValue();
          continue;
        }
        if (partial && LITERALS.some((l) => l.startsWith(text.slice(i)))) {
          i = n;
          break;
        }
        return fail("expected a value");
      }
    }
    // A `break` inside the switch: the text ran out in the middle of something.
    if (!partial) return fail("unexpected end of the text");
    i = n;
    break;
  }
  if (expect === "end" && root) return { ok: true, root, cut: false };
  if (!partial || !root) return fail(root ? "unexpected end of the text" : "no JSON value");
  for (const frame of stack) frame.node.cut = true;
  return { ok: true, root, cut: true };
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);

/**
 * The index just past the closing quote of the string literal opening at `start`; -1 when the
 * text ends first, -2 when it is not a valid JSON string (a control character, a bad escape).
 */
function stringEnd(text: string, start: number): number {
  const n = text.length;
  for (let j = start + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c < 0x20) return -2;
    if (c !== 0x5c) continue;
    if (j + 1 >= n) return -1;
    const e = text[j + 1]!;
    if (e === "u") {
      const hex = text.slice(j + 2, j + 6);
      if (!/^[0-9a-fA-F]*$/.test(hex)) return -2;
      if (hex.length < 4) return -1;
      j += 5;
    } else if (ESCAPES.has(e)) j++;
    else return -2;
  }
  return -1;
}

/** A string node's value with its escapes resolved (a cut string: what arrived of it). */
export function stringValue(node: JsonString): string {
  if (!node.cut) return JSON.parse(node.raw) as string;
  // note: drop a trailing half escape so what is left parses.
  const body = node.raw.slice(1).replace(/\\(u[0-9a-fA-F]{0,3})?$/, "");
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return body;
  }
}

/**
 * A number literal in one canonical form, so that 1, 1.0 and 10e-1 compare equal and two big
 * integers compare digit by digit ("-0" is "0"): digits without leading or trailing zeros and a
 * power of ten, e.g. "123e-2" for 1.230.
 */
export function canonicalNumber(raw: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(raw);
  if (!m) return raw;
  const [, sign, int, frac = "", exp = "0"] = m;
  let digits = `${int}${frac}`.replace(/^0+/, "");
  if (digits === "") return "0";
  let power = BigInt(exp) - BigInt(frac.length);
  const trimmed = digits.replace(/0+$/, "");
  power += BigInt(digits.length - trimmed.length);
  digits = trimmed;
  return `${sign}${digits}e${power}`;
}

/** How a node reads in one line: its literal for a scalar, compact JSON for a container (cut at `max` characters, with "…"). */
export function compactJson(node: JsonNode, max = 200): string {
  const out: string[] = [];
  let length = 0;
  const emit = (piece: string) => {
    out.push(piece);
    length += piece.length;
  };
  // note: iterative and stopping at `max`, so a 1 MiB subtree costs only what is shown.
  const stack: { node: JsonObject | JsonArray; next: number }[] = [];
  const visit = (value: JsonNode) => {
    if (value.kind === "object" || value.kind === "array") {
      emit(value.kind === "object" ? "{" : "[");
      stack.push({ node: value, next: 0 });
    } else emit(value.kind === "string" && value.cut ? `${value.raw}…` : value.raw);
  };
  visit(node);
  while (stack.length > 0 && length <= max) {
    const top = stack.at(-1)!;
    const { node: container } = top;
    const count = container.kind === "object" ? container.entries.length : container.items.length;
    if (top.next >= count) {
      const close = container.kind === "object" ? "}" : "]";
      emit(container.cut ? `…${close}` : close);
      stack.pop();
      continue;
    }
    if (top.next > 0) emit(",");
    if (container.kind === "object") {
      const entry = container.entries[top.next]!;
      emit(`${entry.rawKey}:`);
      top.next++;
      visit(entry.value);
    } else {
      top.next++;
      visit(container.items[top.next - 1]!);
    }
  }
  const text = out.join("");
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A path segment: an object key or an array index. */
export type PathSegment = string | number;

/** Segments a long path keeps at each end. */
const PATH_ENDS = 32;

/**
 * A path as people write it, JSONPath style: `$.data.object.amount`, `$.items[3]`, and a key that
 * is not a plain name in brackets and quotes (`$["content-type"]`).
 */
export function formatPath(segments: readonly PathSegment[]): string {
  // note: a path hundreds of levels deep is shortened in the middle, so one line stays readable.
  if (segments.length > 2 * PATH_ENDS) {
    const skipped = segments.length - 2 * PATH_ENDS;
    return `${formatPath(segments.slice(0, PATH_ENDS))}…(${skipped.toLocaleString("en")} levels)…${formatPath(segments.slice(-PATH_ENDS)).slice(1)}`;
  }
  let out = "$";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}
