/**
 * A reader for the small subset of YAML our compose files are written in, so
 * the deploy test can check them without a YAML dependency.
 *
 * Supported: block mappings, block sequences (`- item`, `- key: value` items),
 * plain, 'single' and "double" quoted scalars, full-line and trailing
 * comments, an optional leading `---`. Everything else (anchors, aliases,
 * tags, flow collections, multi-line strings, tabs) is refused with the line
 * number, so a compose edit outside the subset fails the test loudly instead
 * of being misread. Scalars stay strings; an empty value is null.
 */

/** A parsed value. */
export type YamlValue = string | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  no: number;
  indent: number;
  text: string;
}

/** Thrown for anything outside the subset. */
export class YamlSubsetError extends Error {
  override name = "YamlSubsetError";
}

/** Parses `source`; throws YamlSubsetError for syntax outside the subset. */
export function parseYamlSubset(source: string): YamlValue {
  const lines: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    const no = i + 1;
    if (/^\s*\t/.test(raw)) throw new YamlSubsetError(`line ${no}: tab indentation`);
    const text = stripComment(raw, no).trimEnd();
    if (text.trim() === "" || (lines.length === 0 && text === "---")) return;
    const indent = text.length - text.trimStart().length;
    lines.push({ no, indent, text: text.trimStart() });
  });
  if (lines.length === 0) return null;
  let pos = 0;

  const isItem = (l: Line) => l.text === "-" || l.text.startsWith("- ");

  const block = (indent: number): YamlValue => {
    const first = lines[pos]!;
    if (first.indent !== indent) throw new YamlSubsetError(`line ${first.no}: unexpected indentation`);
    return isItem(first) ? sequence(indent) : mapping(indent);
  };

  const nested = (parentIndent: number, allowSameIndentSequence: boolean): YamlValue => {
    const next = lines[pos];
    if (!next) return null;
    if (next.indent > parentIndent) return block(next.indent);
    if (allowSameIndentSequence && next.indent === parentIndent && isItem(next)) return sequence(parentIndent);
    return null;
  };

  const mapping = (indent: number): YamlValue => {
    const out: Record<string, YamlValue> = {};
    while (pos < lines.length && lines[pos]!.indent === indent && !isItem(lines[pos]!)) {
      const line = lines[pos]!;
      const pair = splitPair(line.text, line.no);
      if (!pair) throw new YamlSubsetError(`line ${line.no}: expected "key: value"`);
      if (pair.key in out) throw new YamlSubsetError(`line ${line.no}: duplicate key ${pair.key}`);
      pos++;
      out[pair.key] = pair.rest === "" ? nested(indent, true) : scalar(pair.rest, line.no);
    }
    if (pos < lines.length && lines[pos]!.indent > indent) throw new YamlSubsetError(`line ${lines[pos]!.no}: unexpected indentation`);
    return out;
  };

  const sequence = (indent: number): YamlValue => {
    const out: YamlValue[] = [];
    while (pos < lines.length && lines[pos]!.indent === indent && isItem(lines[pos]!)) {
      const line = lines[pos]!;
      const content = line.text === "-" ? "" : line.text.slice(2).trimStart();
      if (content === "") {
        pos++;
        out.push(nested(indent, false));
        continue;
      }
      if (splitPair(content, line.no)) {
        // note: `- key: value` starts a mapping whose keys line up with `key`.
        lines[pos] = { no: line.no, indent: line.text.length - content.length + indent, text: content };
        out.push(mapping(lines[pos]!.indent));
        continue;
      }
      pos++;
      out.push(scalar(content, line.no));
    }
    return out;
  };

  const value = block(lines[0]!.indent);
  if (pos < lines.length) throw new YamlSubsetError(`line ${lines[pos]!.no}: unexpected content`);
  return value;
}

/** Removes a comment: `#` at the start or after whitespace, outside quotes. */
function stripComment(raw: string, no: number): string {
  let quote: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") {
      const before = raw.slice(0, i).trimEnd();
      // note: a quote only opens a quoted scalar at the start of a value.
      if (before === "" || before.endsWith(":") || before.endsWith("-")) quote = c;
      continue;
    }
    if (c === "#" && (i === 0 || /\s/.test(raw[i - 1]!))) return raw.slice(0, i);
  }
  if (quote) throw new YamlSubsetError(`line ${no}: unterminated quoted string`);
  return raw;
}

/** Splits `key: rest` (or `key:`); undefined when the line is not a pair. */
function splitPair(text: string, no: number): { key: string; rest: string } | undefined {
  let key: string;
  let after: string;
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = text.indexOf(text[0]!, 1);
    if (end < 0) throw new YamlSubsetError(`line ${no}: unterminated quoted key`);
    key = text.slice(1, end);
    after = text.slice(end + 1);
    if (!after.startsWith(":")) return undefined;
    after = after.slice(1);
  } else {
    const m = /^([^\s:][^:]*?):(?:\s+|$)/.exec(text);
    if (!m) return undefined;
    key = m[1]!;
    after = text.slice(m[1]!.length + 1);
  }
  if (after !== "" && !/^\s/.test(after)) return undefined;
  return { key, rest: after.trim() };
}

/** A scalar in the subset: plain or quoted; null for `~`/`null`. */
function scalar(text: string, no: number): YamlValue {
  const c = text[0]!;
  if (c === '"') {
    if (!text.endsWith('"') || text.length < 2) throw new YamlSubsetError(`line ${no}: bad double-quoted string`);
    return JSON.parse(text) as string;
  }
  if (c === "'") {
    if (!text.endsWith("'") || text.length < 2) throw new YamlSubsetError(`line ${no}: bad single-quoted string`);
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if ("&*!|>{[%@`".includes(c)) throw new YamlSubsetError(`line ${no}: "${c}" is outside the supported YAML subset`);
  if (text === "~" || text === "null") return null;
  if (/:\s/.test(text)) throw new YamlSubsetError(`line ${no}: ": " inside a plain scalar; quote it`);
  return text;
}
