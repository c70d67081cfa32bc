import { describe, expect, it } from "vitest";
import { WebhookStatus } from "@hookly/proto/gen/admin_pb";
import {
  PAGE_SIZE,
  SEARCH_MAX,
  filtersFromUrl,
  filtersToQuery,
  fromLocalInput,
  hasFilters,
  hidesSuperseded,
  listRequest,
  toLocalInput,
  webhookFilter,
} from "./filters";

const url = (q: string) => new URL(`http://edge.test/webhooks${q}`);

describe("webhook filters in the URL", () => {
  it("round-trips every filter and the page token", () => {
    const q = "?endpoint=ep_1&status=dead_letter&verified=false&since=2025-01-01T00%3A00%3A00.000Z&until=2025-01-02T00%3A00%3A00.000Z&page=abc";
    const filters = filtersFromUrl(url(q));
    expect(filters).toEqual({
      endpoint: "ep_1",
      status: "dead_letter",
      verified: "false",
      since: "2025-01-01T00:00:00.000Z",
      until: "2025-01-02T00:00:00.000Z",
      page: "abc",
    });
    expect(filtersToQuery(filters)).toBe(q);
  });

  it("ignores values that mean nothing", () => {
    const filters = filtersFromUrl(url("?status=bogus&verified=maybe&since=yesterday"));
    expect(filters).toMatchObject({ status: "", verified: "", since: "" });
    expect(hasFilters(filters)).toBe(false);
    expect(filtersToQuery(filters)).toBe("");
  });

  it("asks the edge for one page of 50 with the chosen filters", () => {
    const req = listRequest(filtersFromUrl(url("?endpoint=ep_1&status=failed&verified=true&since=2025-01-01T00:00:00Z&page=tok")));
    expect(req).toMatchObject({ endpointId: "ep_1", status: WebhookStatus.FAILED, verified: true, limit: PAGE_SIZE, pageToken: "tok" });
    expect(req.since?.seconds).toBe(1735689600n);
    expect(req.until).toBeUndefined();
  });

  it("leaves `verified` unset (both) when not filtered", () => {
    expect(listRequest(filtersFromUrl(url(""))).verified).toBeUndefined();
  });

  it("converts datetime-local values to instants and back", () => {
    const iso = fromLocalInput("2025-03-04T05:06");
    expect(new Date(iso).getFullYear()).toBe(2025);
    expect(toLocalInput(iso)).toBe("2025-03-04T05:06");
    expect(fromLocalInput("")).toBe("");
  });

  it("accepts the partial and filtered states and asks the edge for them", () => {
    expect(filtersFromUrl(url("?status=partial")).status).toBe("partial");
    expect(listRequest(filtersFromUrl(url("?status=partial"))).status).toBe(WebhookStatus.PARTIAL);
    expect(listRequest(filtersFromUrl(url("?status=filtered"))).status).toBe(WebhookStatus.FILTERED);
  });

  it("round-trips an event type filter and sends it to the edge", () => {
    const q = "?endpoint=ep_1&status=delivered&event=invoice.paid&page=abc";
    const filters = filtersFromUrl(url(q));
    expect(filters.eventType).toBe("invoice.paid");
    expect(hasFilters(filters)).toBe(true);
    expect(filtersToQuery(filters)).toBe(q);
    expect(listRequest(filters).eventType).toBe("invoice.paid");
  });

  it("drops an event type the edge could never have stored, and sends none when unset", () => {
    expect(filtersFromUrl(url("?event=two%20words")).eventType).toBeUndefined();
    expect(filtersFromUrl(url(`?event=${"x".repeat(201)}`)).eventType).toBeUndefined();
    expect(filtersFromUrl(url("?event=%20push%20")).eventType).toBe("push");
    expect(listRequest(filtersFromUrl(url(""))).eventType).toBe("");
    expect(filtersToQuery({ ...filtersFromUrl(url("")), eventType: "" })).toBe("");
  });

  it("round-trips a search and a destination with the other filters", () => {
    const q = "?q=cus_42+%22card+declined%22&endpoint=ep_1&destination=dst_2&status=failed&event=charge.failed&page=abc";
    const filters = filtersFromUrl(url(q));
    expect(filters).toMatchObject({ search: 'cus_42 "card declined"', endpoint: "ep_1", destination: "dst_2", eventType: "charge.failed" });
    expect(hasFilters(filters)).toBe(true);
    expect(filtersToQuery(filters)).toBe(q);
  });

  it("sends the search and the destination to the edge, for the list and for a bulk action", () => {
    const filters = filtersFromUrl(url("?q=refund&destination=dst_2"));
    expect(listRequest(filters)).toMatchObject({ search: "refund", destinationId: "dst_2" });
    expect(webhookFilter(filters)).toMatchObject({ search: "refund", destinationId: "dst_2" });
    expect(listRequest(filtersFromUrl(url("")))).toMatchObject({ search: "", destinationId: "" });
  });

  it("counts a search or a destination alone as a filter", () => {
    expect(hasFilters(filtersFromUrl(url("?q=refund")))).toBe(true);
    expect(hasFilters(filtersFromUrl(url("?destination=dst_2")))).toBe(true);
  });

  it("trims a search, and drops one that is empty or longer than the edge takes", () => {
    expect(filtersFromUrl(url("?q=%20%20refund%20"))).toMatchObject({ search: "refund" });
    expect(filtersFromUrl(url("?q=%20%20"))).not.toHaveProperty("search");
    expect(filtersFromUrl(url(`?q=${"x".repeat(SEARCH_MAX)}`)).search).toHaveLength(SEARCH_MAX);
    expect(filtersFromUrl(url(`?q=${"x".repeat(SEARCH_MAX + 1)}`))).not.toHaveProperty("search");
    expect(filtersToQuery({ ...filtersFromUrl(url("")), search: "" })).toBe("");
  });

  it("drops a destination filter that is not a destination id", () => {
    expect(filtersFromUrl(url("?destination=ep_1"))).not.toHaveProperty("destination");
    expect(filtersFromUrl(url("?destination=dst_"))).not.toHaveProperty("destination");
    expect(filtersFromUrl(url("?destination=%20dst_9%20")).destination).toBe("dst_9");
  });

  it("asks for the total on the first page only", () => {
    expect(listRequest(filtersFromUrl(url("?q=refund"))).withTotal).toBe(true);
    expect(listRequest(filtersFromUrl(url("?q=refund&page=tok"))).withTotal).toBe(false);
  });
});

describe("superseded webhooks in the list", () => {
  it.each([
    ["", false],
    ["?status=pending", false],
    ["?status=delivered", false],
    ["?status=failed", true],
    ["?status=dead_letter", true],
    ["?status=partial", true],
    ["?status=failed&superseded=show", false],
    ["?superseded=hide", true],
    ["?status=delivered&superseded=hide", true],
    ["?superseded=bogus", false],
  ])("%s hides them: %s", (q, hidden) => {
    const filters = filtersFromUrl(url(q));
    expect(hidesSuperseded(filters)).toBe(hidden);
    expect(listRequest(filters).superseded).toBe(hidden ? false : undefined);
  });

  it("keeps an explicit choice in the URL, and none by default", () => {
    expect(filtersToQuery(filtersFromUrl(url("?status=failed")))).toBe("?status=failed");
    expect(filtersToQuery(filtersFromUrl(url("?status=failed&superseded=show")))).toBe("?status=failed&superseded=show");
    expect(filtersFromUrl(url("?superseded=bogus"))).not.toHaveProperty("superseded");
  });

  it("counts hiding them as a filter", () => {
    expect(hasFilters(filtersFromUrl(url("?superseded=hide")))).toBe(true);
    expect(hasFilters(filtersFromUrl(url("?superseded=show")))).toBe(false);
  });

  it("gives a bulk action the same selection as the list, without paging", () => {
    const filters = filtersFromUrl(url("?endpoint=ep_1&status=failed&page=tok"));
    const { limit, pageToken, withTotal, ...selection } = listRequest(filters);
    expect(limit).toBe(PAGE_SIZE);
    expect(pageToken).toBe("tok");
    expect(withTotal).toBe(false);
    expect(webhookFilter(filters)).toEqual(selection);
  });
});
