/** Payload bytes shown as text (the REST detail's payload_text, the MCP tool's utf8 payload). */

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * `bytes` as UTF-8 text, or undefined when they are not UTF-8. When `truncated` (they are the
 * start of a longer payload), a character the cut split (up to 3 trailing bytes) is left out;
 * `bytes` is how many bytes the text covers.
 */
export function utf8Head(bytes: Uint8Array, truncated: boolean): { text: string; bytes: number } | undefined {
  for (let drop = 0; drop <= (truncated ? Math.min(3, bytes.length) : 0); drop++) {
    try {
      const shown = bytes.subarray(0, bytes.length - drop);
      return { text: utf8.decode(shown), bytes: shown.length };
    } catch {
      // try again without the last byte: the cut may have split a character
    }
  }
  return undefined;
}
