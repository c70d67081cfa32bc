import { describe, expect, it } from "vitest";
import { INLINE_BODY_LIMIT, curlBody, curlCommand, destinationWithQuery, shellQuote, shellWord } from "./curl";

/**
 * The words a POSIX shell makes of a command line, for what curlCommand writes: single quotes
 * (nothing special inside), backslash-newline continuations, a backslash escaping one character,
 * blanks between words. Anything else that a shell would expand fails the test.
 */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error("unterminated single quote");
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (ch === "\\") {
      const next = line[++i];
      if (next !== "\n") word = (word ?? "") + next;
    } else if (ch === " " || ch === "\n" || ch === "\t") {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (/[$`"!*?[\]{}();&|<>#~]/.test(ch)) {
      throw new Error(`unquoted ${ch}`);
    } else word = (word ?? "") + ch;
  }
  if (word !== undefined) words.push(word);
  return words;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const NASTY = [
  "it's",
  "$(touch /tmp/pwned) `id` $HOME",
  '"double" \\n \\',
  "!!:0 !$",
  "tab\there",
  "multi\nline",
  "'''",
  "",
  "ünï ☕ 😀",
  "--data x",
  "@/etc/passwd",
];

describe("shellQuote", () => {
  it.each(NASTY)("round-trips %j through the shell's word splitting", (value) => {
    expect(shellWords(`cmd ${shellQuote(value)} end`)).toEqual(["cmd", value, "end"]);
  });

  it("writes an embedded quote as '\\''", () => {
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it("leaves a plain word bare and quotes anything else", () => {
    expect(shellWord("PATCH")).toBe("PATCH");
    expect(shellWord("@payload.bin")).toBe("@payload.bin");
    expect(shellWord("a b")).toBe("'a b'");
    expect(shellWord("$x")).toBe("'$x'");
  });
});

describe("curlBody", () => {
  it("is inline for whole UTF-8 text", () => {
    expect(curlBody(bytes('{"a":"é"}'), 10)).toEqual({ kind: "inline", text: '{"a":"é"}' });
  });

  it("is none for an empty body", () => {
    expect(curlBody(new Uint8Array(), 0)).toEqual({ kind: "none" });
  });

  it.each([
    ["partial", bytes('{"a":1'), 10_000],
    ["binary", new Uint8Array([0xff, 0xfe, 0x00]), 3],
    ["large", bytes("x".repeat(INLINE_BODY_LIMIT + 1)), INLINE_BODY_LIMIT + 1],
    ["control", bytes("a\u0000b"), 3],
    ["control", bytes("line\r\nline"), 10],
  ] as const)("reads the body from a file when it is %s", (reason, payload, size) => {
    expect(curlBody(payload, size)).toEqual({ kind: "file", file: "payload.bin", reason });
  });

  it("keeps tabs and newlines inline", () => {
    expect(curlBody(bytes("a\tb\nc"), 5).kind).toBe("inline");
  });
});

describe("destinationWithQuery", () => {
  it("adds the webhook's query to the destination's own", () => {
    expect(destinationWithQuery("http://nas.lan:8080/hook", "")).toBe("http://nas.lan:8080/hook");
    expect(destinationWithQuery("http://nas.lan:8080/hook", "a=1&b=2")).toBe("http://nas.lan:8080/hook?a=1&b=2");
    expect(destinationWithQuery("http://nas.lan/hook?token=x", "a=1")).toBe("http://nas.lan/hook?token=x&a=1");
  });
});

describe("curlCommand", () => {
  const headers = [
    { name: "Host", value: "edge.example" },
    { name: "Content-Type", value: "application/json" },
    { name: "Content-Length", value: "17" },
    { name: "Connection", value: "keep-alive, X-Hop" },
    { name: "X-Hop", value: "1" },
    { name: "Transfer-Encoding", value: "chunked" },
    { name: "webhook-id", value: "msg_1" },
    { name: "Authorization", value: "[redacted]" },
    { name: "X-Hookly-Attempt", value: "9" },
    { name: "X-Quote", value: "it's $(rm -rf /) `id`" },
    { name: "X-Empty", value: "" },
  ];

  it("sends the method, the headers as received less hop-by-hop ones, and the body, at the destination with the query", () => {
    const { command, redacted, omitted } = curlCommand({
      method: "PUT",
      url: "http://nas.lan:8080/o'hook",
      // note: joined as the edge joins them (WHATWG URL), which escapes a quote in the query.
      query: "src=stripe&x='1'",
      headers,
      body: { kind: "inline", text: `{"note":"it's"}` },
    });
    expect(shellWords(command)).toEqual([
      "curl",
      "-X",
      "PUT",
      "http://nas.lan:8080/o'hook?src=stripe&x=%271%27",
      "-H",
      "Content-Type: application/json",
      "-H",
      "webhook-id: msg_1",
      "-H",
      "Authorization: [redacted]",
      "-H",
      "X-Quote: it's $(rm -rf /) `id`",
      "-H",
      "X-Empty;",
      "--data-raw",
      `{"note":"it's"}`,
    ]);
    expect(redacted).toEqual(["Authorization"]);
    expect(omitted).toEqual(["Host", "Content-Length", "Connection", "X-Hop", "Transfer-Encoding", "X-Hookly-Attempt"]);
  });

  it("puts one argument a line, so it reads well and pastes as one command", () => {
    const { command } = curlCommand({ method: "POST", url: "http://a/h", query: "", headers: headers.slice(1, 2), body: { kind: "inline", text: "{}" } });
    expect(command).toBe("curl 'http://a/h' \\\n  -H 'Content-Type: application/json' \\\n  --data-raw '{}'");
  });

  it("keeps every nasty body intact", () => {
    for (const text of NASTY.filter(Boolean)) {
      const { command } = curlCommand({ method: "POST", url: "http://a/h", query: "", headers: headers.slice(1, 2), body: { kind: "inline", text } });
      expect(shellWords(command).at(-1)).toBe(text);
    }
  });

  it("reads a body that is not inline from its file", () => {
    const { command } = curlCommand({
      method: "POST",
      url: "http://a/h",
      query: "",
      headers: [],
      body: { kind: "file", file: "payload.bin", reason: "binary" },
    });
    expect(shellWords(command)).toEqual(["curl", "http://a/h", "-H", "Content-Type:", "--data-binary", "@payload.bin"]);
  });

  it("names the method only where curl would not infer it", () => {
    const words = (method: string, body: boolean) =>
      shellWords(curlCommand({ method, url: "http://a/h", query: "", headers: [], body: body ? { kind: "inline", text: "x" } : { kind: "none" } }).command);
    expect(words("POST", true)).not.toContain("-X");
    expect(words("GET", false)).toEqual(["curl", "http://a/h"]);
    expect(words("POST", false)).toEqual(["curl", "-X", "POST", "http://a/h"]);
    expect(words("GET", true).slice(0, 3)).toEqual(["curl", "-X", "GET"]);
    expect(words("HEAD", false)).toEqual(["curl", "--head", "http://a/h"]);
  });

  it("replaces received headers with the destination's own of the same name, which must be filled in too", () => {
    const { command, redacted } = curlCommand({
      method: "POST",
      url: "http://a/h",
      query: "",
      headers: [
        { name: "content-type", value: "text/plain" },
        { name: "x-api-key", value: "from the provider" },
      ],
      destinationHeaders: [{ name: "X-Api-Key", value: "[redacted]" }],
      body: { kind: "inline", text: "hi" },
    });
    expect(shellWords(command)).toEqual(["curl", "http://a/h", "-H", "content-type: text/plain", "-H", "X-Api-Key: [redacted]", "--data-raw", "hi"]);
    expect(redacted).toEqual(["X-Api-Key"]);
  });

  it("turns globbing off for a URL with brackets or braces", () => {
    const { command } = curlCommand({ method: "POST", url: "http://a/h?ids[]=1", query: "q={x}", headers: [], body: { kind: "none" } });
    expect(shellWords(command).slice(1, 2)).toEqual(["--globoff"]);
  });
});
