/**
 * The hub's destination allowlist (`HUB_ALLOWED_DESTINATIONS`): which LAN hosts
 * an endpoint may forward webhooks to, so a compromised or misconfigured edge
 * cannot point the hub at arbitrary machines on the home network.
 *
 * Patterns match the URL's host **as written** — no DNS resolution. A pattern
 * `192.168.1.0/24` therefore allows `http://192.168.1.20/` but not
 * `http://nas.home.lan/`, even if that name resolves into the range; list the
 * name too. Conversely `nas.home.lan` allows that name wherever it resolves.
 */
import { domainToASCII } from "node:url";

/**
 * One parsed allowlist entry. `port` is null when the pattern names no port
 * (any port allowed). `source` is the entry as written, for error messages.
 */
export type DestinationPattern =
  /** An exact host: a DNS name (lower-case, ASCII), an IPv4 literal, or a bracketed IPv6 literal as WHATWG URL writes it (`[::1]`). */
  | { kind: "host"; host: string; port: number | null; source: string }
  /** `*.home.lan`: any name with one or more labels before `suffix` (`.home.lan`); not `home.lan` itself. */
  | { kind: "wildcard"; suffix: string; port: number | null; source: string }
  /** An IPv4 range; `network` is the masked address as an unsigned 32-bit number. */
  | { kind: "cidr"; network: number; prefixLength: number; port: number | null; source: string };

const hostLabel = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;
const dottedQuad = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Parses `HUB_ALLOWED_DESTINATIONS`: comma-separated `host` or `host:port`
 * patterns — exact names (case-insensitive), `*.home.lan` wildcards, IPv4
 * literals, bracketed IPv6 (`[::1]:8080`), IPv4 CIDR (`192.168.1.0/24`,
 * optionally `192.168.1.0/24:8080`). No port means any port.
 *
 * Returns null when the value is unset or holds no patterns: every destination
 * is allowed. Throws an Error naming the first bad pattern.
 */
export function parseAllowedDestinations(value: string | undefined): DestinationPattern[] | null {
  if (value === undefined) return null;
  const entries = value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) return null;
  return entries.map(parsePattern);
}

/**
 * Whether `url` may be forwarded to. `patterns` null allows everything. Only
 * http and https URLs are ever allowed; the port is `url.port` or the scheme's
 * default (80, 443).
 */
export function isDestinationAllowed(url: URL, patterns: readonly DestinationPattern[] | null): boolean {
  const defaultPort = url.protocol === "http:" ? 80 : url.protocol === "https:" ? 443 : null;
  if (defaultPort === null) return false;
  if (patterns === null) return true;
  const port = url.port === "" ? defaultPort : Number(url.port);
  // note: WHATWG URL already lower-cases, punycodes and canonicalises IP literals
  // (`0x7f.1` becomes `127.0.0.1`); only the trailing root dot is left to strip.
  const host = url.hostname.replace(/\.$/, "");
  const ipv4 = parseIpv4(host);
  return patterns.some((pattern) => {
    if (pattern.port !== null && pattern.port !== port) return false;
    switch (pattern.kind) {
      case "host":
        return pattern.host === host;
      case "wildcard":
        return ipv4 === null && host.length > pattern.suffix.length && host.endsWith(pattern.suffix);
      case "cidr":
        return ipv4 !== null && maskIpv4(ipv4, pattern.prefixLength) === pattern.network;
      default:
        return false;
    }
  });
}

function parsePattern(source: string): DestinationPattern {
  const fail = (why: string): never => {
    throw new Error(`HUB_ALLOWED_DESTINATIONS: bad pattern "${source}": ${why}`);
  };
  if (source.includes("://")) fail("write host or host:port, without a scheme");
  if (source.includes("/") && !source.startsWith("[")) return parseCidr(source, fail);

  let hostPart: string;
  let portPart: string | undefined;
  if (source.startsWith("[")) {
    const close = source.indexOf("]");
    if (close === -1) fail("missing ]");
    hostPart = source.slice(0, close + 1);
    const rest = source.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) fail("expected :port after ]");
      portPart = rest.slice(1);
    }
  } else {
    const parts = source.split(":");
    if (parts.length > 2) fail("IPv6 addresses must be bracketed, e.g. [::1]:8080");
    hostPart = parts[0] ?? "";
    portPart = parts[1];
  }
  const port = portPart === undefined ? null : parsePort(portPart, fail);

  if (hostPart.startsWith("[")) {
    let canonical = "";
    try {
      canonical = new URL(`http://${hostPart}/`).hostname;
    } catch {
      fail("not a valid IPv6 address");
    }
    return { kind: "host", host: canonical, port, source };
  }

  const host = hostPart.toLowerCase().replace(/\.$/, "");
  if (host === "") fail("empty host");
  if (host === "*") fail("a bare * is not a pattern; leave the variable unset to allow every destination");
  if (host.startsWith("*.")) {
    const suffix = host.slice(1);
    const name = toAsciiName(suffix.slice(1), fail);
    if (isNumericLabel(name)) fail("wildcards apply to DNS names, not IP addresses");
    return { kind: "wildcard", suffix: `.${name}`, port, source };
  }
  if (host.includes("*")) fail("* is only allowed as the whole first label, as in *.home.lan");
  if (isNumericLabel(host)) {
    if (parseIpv4(host) === null) fail("not a valid IPv4 address (four decimal octets, no leading zeros)");
    return { kind: "host", host, port, source };
  }
  return { kind: "host", host: toAsciiName(host, fail), port, source };
}

function parseCidr(source: string, fail: (why: string) => never): DestinationPattern {
  const [address = "", rest = ""] = source.split("/", 2);
  const [prefixPart = "", portPart, extra] = rest.split(":");
  if (extra !== undefined) fail("expected address/prefix or address/prefix:port");
  const ipv4 = parseIpv4(address);
  if (ipv4 === null) fail("CIDR ranges must be IPv4, e.g. 192.168.1.0/24");
  if (!/^\d{1,2}$/.test(prefixPart) || Number(prefixPart) > 32) fail("prefix length must be 0-32");
  const prefixLength = Number(prefixPart);
  const port = portPart === undefined ? null : parsePort(portPart, fail);
  // note: host bits are ignored (192.168.1.5/24 means 192.168.1.0/24), as Go's net.ParseCIDR does.
  return { kind: "cidr", network: maskIpv4(ipv4 ?? 0, prefixLength), prefixLength, port, source };
}

function parsePort(text: string, fail: (why: string) => never): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) fail("port must be 1-65535");
  return port;
}

function toAsciiName(name: string, fail: (why: string) => never): string {
  const ascii = domainToASCII(name);
  if (ascii === "" || !ascii.split(".").every((label) => hostLabel.test(label))) fail("not a valid host name");
  return ascii;
}

/** A last label of only digits makes WHATWG URL read the host as IPv4. */
function isNumericLabel(name: string): boolean {
  return /^\d+$/.test(name.slice(name.lastIndexOf(".") + 1));
}

function parseIpv4(text: string): number | null {
  const match = dottedQuad.exec(text);
  if (match === null) return null;
  const octets = match.slice(1).map(Number);
  // note: WHATWG URL reads `010` as octal, so leading zeros are refused rather than guessed.
  if (match.slice(1).some((octet) => octet.length > 1 && octet.startsWith("0"))) return null;
  if (octets.some((octet) => octet > 255)) return null;
  return octets.reduce((sum, octet) => sum * 256 + octet, 0);
}

function maskIpv4(address: number, prefixLength: number): number {
  // note: `>>> 0` keeps the result unsigned; a 32-bit shift is a no-op in JS, hence the 0 case.
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return (address & mask) >>> 0;
}
