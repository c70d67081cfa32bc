/**
 * How a webhook body is shown. Bodies are attacker-controlled: every form here is plain text
 * for `{text}` interpolation, never markup.
 */
export type PayloadView =
  | { kind: "empty" }
  | { kind: "json"; pretty: string; raw: string; shownBytes: number; partial: boolean }
  | { kind: "text"; raw: string; shownBytes: number; partial: boolean }
  | { kind: "binary"; hex: string; raw: string; shownBytes: number };

/** The hex dump shows at most this many bytes (64 KiB is 4,096 lines). */
export const HEX_DUMP_LIMIT = 64 * 1024;

/**
 * Text beyond this many bytes is not shown (nor pretty-printed): a browser tab should not have to
 * lay out a 100 MB <pre>. The whole body can still be downloaded.
 */
export const TEXT_VIEW_LIMIT = 1024 * 1024;

/**
 * Picks the view for a body: pretty JSON, UTF-8 text, or a hex dump for anything else.
 * `payload` may be only the start of the body (the edge sends a preview): `size` is the whole
 * body's size. A partial view of JSON is still re-indented (character by character, so a cut-off
 * document is fine) and says it is partial.
 */
export function viewPayload(payload: Uint8Array, contentType = "", opts: { size?: number; limit?: number } = {}): PayloadView {
  const limit = opts.limit ?? TEXT_VIEW_LIMIT;
  const size = Math.max(opts.size ?? payload.length, payload.length);
  if (size === 0) return { kind: "empty" };
  const shown = payload.length > limit ? payload.subarray(0, limit) : payload;
  const partial = shown.length < size;
  let text: string;
  try {
    // note: `stream` lets a cut in the middle of a multi-byte character pass as valid UTF-8.
    text = new TextDecoder("utf-8", { fatal: true }).decode(shown, { stream: partial });
  } catch {
    const hexBytes = Math.min(payload.length, HEX_DUMP_LIMIT);
    return {
      kind: "binary",
      hex: hexDump(payload.subarray(0, hexBytes)),
      raw: new TextDecoder("utf-8").decode(shown),
      shownBytes: hexBytes,
    };
  }
  if (looksLikeJson(text, contentType)) {
    if (partial) return { kind: "json", pretty: reindentJson(text), raw: text, shownBytes: shown.length, partial };
    try {
      JSON.parse(text);
      return { kind: "json", pretty: reindentJson(text), raw: text, shownBytes: shown.length, partial };
    } catch {
      // Not JSON after all: show it as the text it is.
    }
  }
  return { kind: "text", raw: text, shownBytes: shown.length, partial };
}

function looksLikeJson(text: string, contentType: string): boolean {
  const first = text.trimStart()[0];
  return first === "{" || first === "[" || /json/i.test(contentType);
}

const INDENT = "  ";

/**
 * Re-indents JSON text that is known to parse. Works on the characters rather than on
 * `JSON.parse` output so that nothing changes but whitespace: big integers keep every digit,
 * duplicate keys and key order stay as the sender wrote them.
 */
export function reindentJson(text: string): string {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let segmentStart = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === "\\") escaped = true;
      else if (ch === '"') {
        inString = false;
        out.push(text.slice(segmentStart, i + 1));
      }
      continue;
    }
    switch (ch) {
      case '"':
        inString = true;
        segmentStart = i;
        break;
      case "{":
      case "[": {
        const close = ch === "{" ? "}" : "]";
        let j = i + 1;
        while (j < text.length && isSpace(text[j])) j++;
        if (text[j] === close) {
          out.push(ch + close);
          i = j;
        } else {
          depth++;
          out.push(ch, "\n", INDENT.repeat(depth));
        }
        break;
      }
      case "}":
      case "]":
        depth = Math.max(0, depth - 1);
        out.push("\n", INDENT.repeat(depth), ch);
        break;
      case ",":
        out.push(",\n", INDENT.repeat(depth));
        break;
      case ":":
        out.push(": ");
        break;
      default:
        if (!isSpace(ch)) out.push(ch as string);
    }
  }
  return out.join("");
}

function isSpace(ch: string | undefined): boolean {
  return ch === " " || ch === "\n" || ch === "\r" || ch === "\t";
}

/** `xxd`-style dump: offset, 16 bytes in hex (two groups of 8), then printable ASCII. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    let hex = "";
    let ascii = "";
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += " ";
      const b = row[i];
      if (b === undefined) {
        hex += "   ";
        continue;
      }
      hex += `${b.toString(16).padStart(2, "0")} `;
      ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
    }
    lines.push(`${offset.toString(16).padStart(8, "0")}  ${hex} ${ascii}`);
  }
  return lines.join("\n");
}
