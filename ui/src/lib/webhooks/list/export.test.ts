import { describe, expect, it } from "vitest";
import { filtersFromUrl } from "../filters";
import { exportHref } from "./export";

const filters = (q: string) => filtersFromUrl(new URL(`http://edge.test/webhooks${q}`));
const params = (href: string) => Object.fromEntries(new URL(href, "http://edge.test").searchParams);

describe("the export link", () => {
  it("exports everything, without payloads, when nothing is filtered", () => {
    expect(exportHref(filters(""), { payload: false })).toBe("/api/webhooks/export?payload=false");
  });

  it("names every filter as the REST API spells it, and leaves out the page", () => {
    const href = exportHref(
      filters(
        "?q=cus_42%20%22card%20declined%22&endpoint=ep_1&destination=dst_2&status=dead_letter&verified=false&event=invoice.paid&since=2025-01-01T00%3A00%3A00.000Z&until=2025-01-02&page=tok",
      ),
      { payload: true },
    );
    expect(href.startsWith("/api/webhooks/export?")).toBe(true);
    expect(params(href)).toEqual({
      endpoint_id: "ep_1",
      destination_id: "dst_2",
      search: 'cus_42 "card declined"',
      status: "dead_letter",
      event_type: "invoice.paid",
      verified: "false",
      superseded: "false",
      since: "2025-01-01T00:00:00.000Z",
      until: "2025-01-02T00:00:00.000Z",
      payload: "true",
    });
  });

  it.each([
    ["?status=failed", "false"],
    ["?status=failed&superseded=show", undefined],
    ["?superseded=hide", "false"],
    ["?status=delivered", undefined],
  ])("%s: superseded=%s, as the list hides them", (q, superseded) => {
    expect(params(exportHref(filters(q), { payload: false })).superseded).toBe(superseded);
  });
});
