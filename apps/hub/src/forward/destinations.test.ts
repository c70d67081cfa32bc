import { describe, expect, it } from "vitest";
import { isDestinationAllowed, parseAllowedDestinations } from "./destinations.js";

describe("parseAllowedDestinations", () => {
  it.each([undefined, "", "  ", " , ,"])("%j allows everything (null)", (value) => {
    expect(parseAllowedDestinations(value)).toBeNull();
  });

  it.each([
    ["NAS.Home.Lan", { kind: "host", host: "nas.home.lan", port: null }],
    ["nas.home.lan.:8080", { kind: "host", host: "nas.home.lan", port: 8080 }],
    ["bücher.lan", { kind: "host", host: "xn--bcher-kva.lan", port: null }],
    ["*.home.lan:443", { kind: "wildcard", suffix: ".home.lan", port: 443 }],
    ["192.168.1.10", { kind: "host", host: "192.168.1.10", port: null }],
    ["[::1]:8080", { kind: "host", host: "[::1]", port: 8080 }],
    ["[0:0:0:0:0:0:0:1]", { kind: "host", host: "[::1]", port: null }],
    ["192.168.1.0/24", { kind: "cidr", network: 0xc0a80100, prefixLength: 24, port: null }],
    ["192.168.1.77/24:9000", { kind: "cidr", network: 0xc0a80100, prefixLength: 24, port: 9000 }],
    ["0.0.0.0/0", { kind: "cidr", network: 0, prefixLength: 0, port: null }],
  ])("parses %j", (value, expected) => {
    expect(parseAllowedDestinations(value)).toEqual([{ ...expected, source: value }]);
  });

  it("splits on commas and trims", () => {
    const patterns = parseAllowedDestinations(" nas.home.lan , 10.0.0.0/8,, [::1] ");
    expect(patterns?.map((p) => p.source)).toEqual(["nas.home.lan", "10.0.0.0/8", "[::1]"]);
  });

  it.each([
    ["http://nas.home.lan", "without a scheme"],
    ["::1", "must be bracketed"],
    ["[::1", "missing ]"],
    ["[::1]8080", "expected :port"],
    ["[not-ipv6]", "not a valid IPv6"],
    ["nas:0", "port must be 1-65535"],
    ["nas:65536", "port must be 1-65535"],
    ["nas:http", "port must be 1-65535"],
    [":8080", "empty host"],
    ["*", "bare *"],
    ["*.1.2", "not IP addresses"],
    ["nas*.lan", "whole first label"],
    ["a..b", "not a valid host name"],
    ["-nas.lan", "not a valid host name"],
    ["exa mple", "not a valid host name"],
    ["300.1.1.1", "not a valid IPv4"],
    ["1.2.3", "not a valid IPv4"],
    ["192.168.001.1", "no leading zeros"],
    ["192.168.1.0/33", "prefix length"],
    ["192.168.1.0/", "prefix length"],
    ["fd00::/8", "must be IPv4"],
    ["192.168.1.0/24:1:2", "address/prefix"],
  ])("rejects %j naming the pattern", (value, why) => {
    expect(() => parseAllowedDestinations(`ok.lan,${value}`)).toThrow(`"${value}"`);
    expect(() => parseAllowedDestinations(value)).toThrow(why);
  });
});

describe("isDestinationAllowed", () => {
  const cases: Array<[patterns: string, url: string, allowed: boolean]> = [
    ["nas.home.lan", "http://NAS.home.lan/hook", true],
    ["nas.home.lan", "http://nas.home.lan.:9000/hook", true],
    ["nas.home.lan", "http://nas2.home.lan/", false],
    ["nas.home.lan", "http://nas.home.lan.evil.com/", false],
    ["nas.home.lan:8080", "http://nas.home.lan:8080/", true],
    ["nas.home.lan:8080", "http://nas.home.lan/", false],
    ["nas.home.lan:80", "http://nas.home.lan/", true],
    ["nas.home.lan:443", "https://nas.home.lan/", true],
    ["nas.home.lan:443", "http://nas.home.lan:443/", true],
    ["nas.home.lan", "ftp://nas.home.lan/", false],
    ["*.home.lan", "http://nas.home.lan/", true],
    ["*.home.lan", "http://a.b.home.lan/", true],
    ["*.home.lan", "http://home.lan/", false],
    ["*.home.lan", "http://evilhome.lan/", false],
    ["*.home.lan:3000", "http://nas.home.lan:3001/", false],
    ["192.168.1.10", "http://192.168.1.10:5000/", true],
    ["192.168.1.10", "http://192.168.1.11/", false],
    ["192.168.1.10", "http://0xc0.168.1.10/", true],
    ["[::1]:8080", "http://[0::1]:8080/", true],
    ["[::1]:8080", "http://[::1]:8081/", false],
    ["[::1]", "http://127.0.0.1/", false],
    ["192.168.1.0/24", "http://192.168.1.254/", true],
    ["192.168.1.0/24", "http://192.168.2.1/", false],
    ["192.168.1.0/24:8080", "http://192.168.1.5:8080/", true],
    ["192.168.1.0/24:8080", "http://192.168.1.5/", false],
    ["192.168.1.0/24", "http://nas.home.lan/", false],
    ["10.0.0.0/8", "http://10.255.0.1/", true],
    ["0.0.0.0/0", "http://8.8.8.8/", true],
    ["0.0.0.0/0", "http://[::ffff:192.168.1.5]/", false],
    ["nas.home.lan, 192.168.1.0/24", "http://192.168.1.9/", true],
    ["nas.home.lan, 192.168.1.0/24", "http://printer.home.lan/", false],
    ["bücher.lan", "http://BÜCHER.lan/", true],
  ];

  it.each(cases)("%j with %s → %s", (patterns, url, allowed) => {
    expect(isDestinationAllowed(new URL(url), parseAllowedDestinations(patterns))).toBe(allowed);
  });

  it("null patterns allow any http(s) URL but nothing else", () => {
    expect(isDestinationAllowed(new URL("https://example.com/"), null)).toBe(true);
    expect(isDestinationAllowed(new URL("file:///etc/passwd"), null)).toBe(false);
  });
});
