import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import {
  STALE_AFTER_MS,
  afterPoll,
  describeFailure,
  edgeBanner,
  failureKind,
  hubBadge,
  hubsBanner,
  lastSeenText,
  queuedText,
  type EdgeContact,
  type HubStatusLike,
  type HubView,
} from "./edge-health";

const UTC = { locale: "en-GB", timeZone: "UTC" };
const NOW = Date.parse("2026-12-02T07:13:20.000Z");
const at = (iso: string) => Date.parse(iso);
const POLL_MS = 5_000;

const fresh: EdgeContact = { lastOkAt: NOW - 2_000, failure: undefined };
const unreachable: EdgeContact = {
  lastOkAt: at("2026-12-02T07:10:00.000Z"),
  failure: { kind: "unreachable", message: "", since: at("2026-12-02T07:10:05.000Z") },
};

const connectedStatus: HubStatusLike = {
  connected: true,
  since: timestampFromMs(at("2026-12-02T06:00:00.000Z")),
  hubId: "home",
  hubVersion: "1.2.0",
  inFlight: 2n,
};
const offlineStatus: HubStatusLike = { ...connectedStatus, connected: false, since: timestampFromMs(at("2026-12-02T07:05:00.000Z")) };

function hubView(h: Partial<HubView> & Pick<HubView, "id" | "name">): HubView {
  return { bootstrap: false, revoked: false, connected: true, hasCredential: true, queueDepth: 0n, inFlight: 0n, destinations: 1, ...h };
}

describe("status poll outcome", () => {
  it("counts a refused connection, a proxy's 502/503/504 and a timeout as not reaching the edge", () => {
    expect(failureKind(ConnectError.from(new TypeError("Failed to fetch")))).toBe("unreachable");
    expect(failureKind(new ConnectError("HTTP 502", Code.Unavailable))).toBe("unreachable");
    expect(failureKind(new ConnectError("deadline", Code.DeadlineExceeded))).toBe("unreachable");
  });

  it("counts an answer that is an error as reaching it, and keeps what it said", () => {
    expect(failureKind(new ConnectError("internal error", Code.Internal))).toBe("error");
    expect(describeFailure(new ConnectError("internal error", Code.Internal))).toEqual({ kind: "error", message: "internal error" });
    expect(describeFailure(new ConnectError("", Code.Internal))).toEqual({ kind: "error", message: "Internal" });
    expect(describeFailure(new TypeError("Failed to fetch"))).toEqual({ kind: "unreachable", message: "" });
  });

  it("records the last success, and keeps when failures began while they go on", () => {
    const first = afterPoll({ lastOkAt: undefined, failure: undefined }, { ok: true }, 1_000);
    expect(first).toEqual({ lastOkAt: 1_000, failure: undefined });
    const failed = afterPoll(first, { ok: false, error: new TypeError("Failed to fetch") }, 6_000);
    expect(failed).toEqual({ lastOkAt: 1_000, failure: { kind: "unreachable", message: "", since: 6_000 } });
    const still = afterPoll(failed, { ok: false, error: new ConnectError("boom", Code.Internal) }, 11_000);
    expect(still).toEqual({ lastOkAt: 1_000, failure: { kind: "error", message: "boom", since: 6_000 } });
    expect(afterPoll(still, { ok: true }, 16_000)).toEqual({ lastOkAt: 16_000, failure: undefined });
  });

  it("leaves it as it was for an expired session or an abandoned poll", () => {
    expect(afterPoll(fresh, { ok: false, error: new ConnectError("", Code.Unauthenticated) }, NOW)).toBe(fresh);
    expect(afterPoll(fresh, { ok: false, error: new DOMException("aborted", "AbortError") }, NOW)).toBe(fresh);
  });
});

describe("edge banner", () => {
  it("shows nothing while the edge answers", () => {
    expect(edgeBanner(fresh, NOW, POLL_MS, UTC)).toBeUndefined();
  });

  it("says the edge cannot be reached and when it last was, without sending anyone to logs", () => {
    const banner = edgeBanner(unreachable, NOW, POLL_MS, UTC);
    expect(banner).toEqual({
      title: "Cannot reach the edge",
      lastReached: "Last reached at 07:10 (3 min ago).",
      detail: "Check your connection, and that the edge is running. Trying again every 5 s; what this page shows may be out of date.",
    });
    expect(JSON.stringify(banner)).not.toMatch(/log/i);
  });

  it("says when it was never reached since the page opened, and a fresh loss as less than a minute ago", () => {
    expect(edgeBanner({ ...unreachable, lastOkAt: undefined }, NOW, POLL_MS, UTC)?.lastReached).toBe("Not reached since this page was opened.");
    expect(edgeBanner({ ...unreachable, lastOkAt: NOW - 20_000 }, NOW, POLL_MS, UTC)?.lastReached).toBe("Last reached at 07:13 (less than a minute ago).");
  });

  it("gives the day when it was last reached on another day", () => {
    expect(edgeBanner({ ...unreachable, lastOkAt: at("2026-12-01T22:00:00.000Z") }, NOW, POLL_MS, UTC)?.lastReached).toBe(
      "Last reached at 1 Dec, 22:00 (9 h 13 min ago).",
    );
  });

  it("tells an edge that answers with an error apart, with what it said", () => {
    const banner = edgeBanner({ ...unreachable, failure: { kind: "error", message: "internal error", since: NOW } }, NOW, POLL_MS, UTC);
    expect(banner?.title).toBe("The edge cannot report its status");
    expect(banner?.detail).toBe("It answered: internal error. Trying again every 5 s; what this page shows may be out of date.");
  });
});

describe("hub badge", () => {
  it("is unknown before the first answer", () => {
    const v = hubBadge(undefined, [], { lastOkAt: undefined, failure: undefined }, NOW, UTC);
    expect(v).toMatchObject({ tone: "unknown", label: "Hub…", connected: "unknown", detail: ["Checking the hub…"] });
  });

  it("claims connected from a fresh answer that saw it connected", () => {
    const v = hubBadge(connectedStatus, [hubView({ id: "hub_1", name: "home", bootstrap: true })], fresh, NOW, UTC);
    expect(v).toMatchObject({ tone: "up", label: "Hub connected", connected: "true", detail: ["Hub home v1.2.0 connected since 06:00, 2 in flight."] });
  });

  it("never claims connected once a poll failed: unknown, with the last known state and when", () => {
    const v = hubBadge(connectedStatus, [hubView({ id: "hub_1", name: "home" })], unreachable, NOW, UTC);
    expect(v).toMatchObject({ tone: "unknown", label: "Hub unknown", connected: "unknown" });
    expect(v.counts).toBeUndefined();
    expect(v.detail).toEqual(["Cannot reach the edge; hub state unknown.", "Last known at 07:10: hub connected."]);
  });

  it("never claims connected from an answer older than STALE_AFTER_MS, even without a failed poll", () => {
    const v = hubBadge(connectedStatus, [], { lastOkAt: NOW - STALE_AFTER_MS - 1, failure: undefined }, NOW, UTC);
    expect(v).toMatchObject({ tone: "unknown", connected: "unknown" });
    expect(v.detail[0]).toBe("No recent answer from the edge; hub state unknown.");
    expect(hubBadge(connectedStatus, [], { lastOkAt: NOW - STALE_AFTER_MS, failure: undefined }, NOW, UTC).connected).toBe("true");
  });

  it("is unknown when the edge has not answered since the page opened", () => {
    const v = hubBadge(undefined, [], { ...unreachable, lastOkAt: undefined }, NOW, UTC);
    expect(v).toMatchObject({ tone: "unknown", label: "Hub unknown", connected: "unknown" });
  });

  it("says offline from a fresh answer", () => {
    const v = hubBadge(offlineStatus, [hubView({ id: "hub_1", name: "home", connected: false })], fresh, NOW, UTC);
    expect(v).toMatchObject({ tone: "down", label: "Hub offline", connected: "false" });
    expect(v.detail).toEqual(["No hub connected since 07:05. Webhooks are stored and wait until one connects."]);
  });

  it("counts several hubs, amber when only some are up, with each hub's state and queue", () => {
    const hubs = [
      hubView({ id: "hub_1", name: "home", bootstrap: true, since: timestampFromMs(at("2026-12-02T06:00:00.000Z")), inFlight: 1n }),
      hubView({ id: "hub_2", name: "office", connected: false, queueDepth: 7n }),
      hubView({ id: "hub_3", name: "old", revoked: true, connected: false }),
    ];
    const v = hubBadge(connectedStatus, hubs, fresh, NOW, UTC);
    expect(v).toMatchObject({ tone: "some", label: "1/2 hubs connected", short: "1/2 hubs", connected: "true", counts: { connected: 1, total: 2 } });
    expect(v.detail).toEqual(["home: connected since 06:00, 1 in flight", "office: offline, 7 queued"]);
  });
});

describe("offline hubs banner", () => {
  const home = hubView({
    id: "hub_1",
    name: "home",
    bootstrap: true,
    connected: false,
    queueDepth: 12n,
    lastSeenAt: timestampFromMs(at("2026-12-02T07:05:00.000Z")),
  });

  it("names the offline hub, what is queued for it and when it was last seen", () => {
    const b = hubsBanner(offlineStatus, [home], fresh, NOW, UTC);
    expect(b).toMatchObject({
      title: 'Hub "home" is offline',
      hubs: [{ id: "hub_1", name: "home", queued: "12 webhooks queued for it", lastSeen: "last seen 07:05 (8 min ago)" }],
      detail: "Webhooks for its destinations are stored and wait in their queues until it connects.",
    });
  });

  it("lists each offline hub of several, leaving out revoked hubs and hubs without a credential", () => {
    const hubs = [
      hubView({ id: "hub_0", name: "up" }),
      home,
      hubView({ id: "hub_2", name: "office", connected: false, queueDepth: 1n }),
      hubView({ id: "hub_3", name: "revoked", revoked: true, connected: false }),
      hubView({ id: "hub_4", name: "no secret", connected: false, hasCredential: false }),
    ];
    const b = hubsBanner(connectedStatus, hubs, fresh, NOW, UTC);
    expect(b?.title).toBe("2 of 3 hubs are offline");
    expect(b?.hubs.map((h) => [h.name, h.queued, h.lastSeen])).toEqual([
      ["home", "12 webhooks queued for it", "last seen 07:05 (8 min ago)"],
      ["office", "1 webhook queued for it", "never connected"],
    ]);
  });

  it("leaves out an offline hub that holds nothing up: no destination, nothing queued", () => {
    const idle = hubView({ id: "hub_5", name: "spare", connected: false, destinations: 0 });
    expect(hubsBanner(connectedStatus, [hubView({ id: "hub_1", name: "home" }), idle], fresh, NOW, UTC)).toBeUndefined();
    const queued = { ...idle, queueDepth: 2n };
    expect(hubsBanner(connectedStatus, [hubView({ id: "hub_1", name: "home" }), queued], fresh, NOW, UTC)?.title).toBe('Hub "spare" is offline');
  });

  it("shows nothing while every hub is connected", () => {
    expect(hubsBanner(connectedStatus, [hubView({ id: "hub_1", name: "home" })], fresh, NOW, UTC)).toBeUndefined();
  });

  it("shows nothing from an old answer or while the edge cannot be reached: then nothing is known about hubs", () => {
    expect(hubsBanner(offlineStatus, [home], unreachable, NOW, UTC)).toBeUndefined();
    expect(hubsBanner(offlineStatus, [home], { lastOkAt: NOW - STALE_AFTER_MS - 1, failure: undefined }, NOW, UTC)).toBeUndefined();
    expect(hubsBanner(undefined, [], fresh, NOW, UTC)).toBeUndefined();
  });

  it("falls back to the one-hub summary of an edge without the hub registry", () => {
    const b = hubsBanner({ ...offlineStatus, lastSeenAt: timestampFromMs(at("2026-12-02T07:05:00.000Z")) }, [], fresh, NOW, UTC);
    expect(b).toMatchObject({ title: "The hub is offline", hubs: [{ name: "home", queued: "", lastSeen: "last seen 07:05 (8 min ago)" }] });
  });

  it("words queues and last-seen times", () => {
    expect(queuedText(0n)).toBe("nothing queued for it");
    expect(queuedText(1n)).toBe("1 webhook queued for it");
    expect(queuedText(1500n)).toBe(`${(1500).toLocaleString()} webhooks queued for it`);
    expect(lastSeenText(undefined, NOW)).toBe("never connected");
  });
});
