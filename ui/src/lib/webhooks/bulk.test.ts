import { describe, expect, it } from "vitest";
import { BulkAction, WebhookStatus } from "@hookly/proto/gen/admin_pb";
import { bulkRequest, bulkSummary, filterWords, pageSelection } from "./bulk";
import { filtersFromUrl } from "./filters";

const filters = (q: string) => filtersFromUrl(new URL(`http://edge.test/webhooks${q}`));

describe("bulk requests", () => {
  it("names the selected webhooks", () => {
    expect(bulkRequest("replay", { kind: "selected", ids: ["wh_1", "wh_2"] })).toEqual({
      action: BulkAction.REPLAY,
      webhookIds: ["wh_1", "wh_2"],
      allowPending: false,
    });
  });

  it("sends the list's filters for all matching, superseded ones left out as the list leaves them out", () => {
    const req = bulkRequest("skip", { kind: "matching", filters: filters("?endpoint=ep_1&status=failed&event=invoice.paid&page=tok") });
    expect(req.action).toBe(BulkAction.SKIP);
    expect(req.webhookIds).toBeUndefined();
    expect(req.filter).toMatchObject({ endpointId: "ep_1", status: WebhookStatus.FAILED, eventType: "invoice.paid", superseded: false });
    expect(req.filter).not.toHaveProperty("pageToken");
  });

  it("replays pending webhooks only when asked, and never for a skip", () => {
    const scope = { kind: "selected", ids: ["wh_1"] } as const;
    expect(bulkRequest("replay", scope, true).allowPending).toBe(true);
    expect(bulkRequest("skip", scope, true).allowPending).toBe(false);
  });

  it("releases the held deliveries of the selection", () => {
    const req = bulkRequest("release", { kind: "matching", filters: filters("?endpoint=ep_1&verified=false") }, true);
    expect(req).toMatchObject({ action: BulkAction.RELEASE, allowPending: false, filter: { endpointId: "ep_1", verified: false } });
  });
});

describe("bulk results in words", () => {
  it("counts what was done and says why the rest was left alone", () => {
    expect(bulkSummary("replay", { matched: 3, acted: 2, ignored: 1 })).toEqual({
      title: "Replayed 2 of 3 webhooks",
      notes: [
        "1 webhook left alone: nothing to replay (delivered, filtered, or still pending).",
        "The copies queue at the end of their queues, in the originals' order.",
      ],
    });
    expect(bulkSummary("skip", { matched: 1, acted: 0, ignored: 1 })).toEqual({
      title: "Skipped 0 of 1 webhook",
      notes: ["1 webhook left alone: nothing pending to skip."],
    });
    expect(bulkSummary("skip", { matched: 0, acted: 0, ignored: 0 }).title).toBe("No webhook matched");
    expect(bulkSummary("release", { matched: 4, acted: 3, ignored: 1 })).toEqual({
      title: "Released 3 of 4 webhooks",
      notes: ["1 webhook left alone: nothing held to release.", "Their held deliveries join the end of their queues, oldest first, and are delivered in turn."],
    });
  });
});

describe("selecting a page", () => {
  it("is none, some or all of its rows", () => {
    const page = ["wh_1", "wh_2"];
    expect(pageSelection(page, new Set())).toBe("none");
    expect(pageSelection(page, new Set(["wh_2", "wh_elsewhere"]))).toBe("some");
    expect(pageSelection(page, new Set(page))).toBe("all");
    expect(pageSelection([], new Set(["wh_1"]))).toBe("none");
  });
});

describe("the filters in words", () => {
  it("names what all matching acts on", () => {
    const names = {
      endpoint: (id: string) => `«${id}»`,
      destination: (id: string) => `‹${id}›`,
      status: (slug: string) => slug.toUpperCase(),
      time: (iso: string) => iso.slice(0, 10),
    };
    expect(filterWords(filters("?endpoint=ep_1&status=dead_letter&verified=false&since=2025-01-01T00:00:00.000Z"), names)).toEqual([
      "endpoint «ep_1»",
      "status DEAD_LETTER",
      "signature not verified",
      "received since 2025-01-01",
      "not superseded by a delivered replay",
    ]);
    expect(filterWords(filters("?event=push&superseded=show"), names)).toEqual(["event type push"]);
    expect(filterWords(filters("?q=cus_42&destination=dst_1"), names)).toEqual(['containing "cus_42"', "destination ‹dst_1›"]);
    expect(filterWords(filters("?q=%22card+declined%22+cus_42"), names)).toEqual(['containing "card declined" cus_42']);
  });
});
