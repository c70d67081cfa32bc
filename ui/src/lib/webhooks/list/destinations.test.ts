import { describe, expect, it } from "vitest";
import { destinationName, destinationOptions, keepsDestination } from "./destinations";

const endpoints = [
  {
    id: "ep_1",
    name: "stripe",
    destinations: [
      { id: "dst_a", name: "billing", url: "http://billing.lan/hook" },
      { id: "dst_b", name: "", url: "http://audit.lan/in" },
    ],
  },
  { id: "ep_2", name: "github", destinations: [{ id: "dst_c", name: "ci", url: "http://ci.lan/gh" }] },
];

describe("the destination filter's choices", () => {
  it("lists every endpoint's destinations with their endpoint when no endpoint is chosen", () => {
    expect(destinationOptions(endpoints, "")).toEqual([
      { value: "dst_a", label: "stripe › billing" },
      { value: "dst_b", label: "stripe › http://audit.lan/in" },
      { value: "dst_c", label: "github › ci" },
    ]);
  });

  it("lists only the chosen endpoint's destinations", () => {
    expect(destinationOptions(endpoints, "ep_2")).toEqual([{ value: "dst_c", label: "ci" }]);
  });

  it("keeps a selected destination no endpoint has, under its id", () => {
    expect(destinationOptions(endpoints, "ep_2", "dst_gone").at(-1)).toEqual({ value: "dst_gone", label: "dst_gone" });
    expect(destinationOptions(endpoints, "ep_2", "dst_c")).toHaveLength(1);
  });

  it("names a destination with its endpoint, or by id when unknown", () => {
    expect(destinationName(endpoints, "dst_b")).toBe("http://audit.lan/in (stripe)");
    expect(destinationName(endpoints, "dst_x")).toBe("dst_x");
  });
});

describe("a destination filter when the endpoint filter changes", () => {
  it.each([
    ["", "dst_a", true],
    ["ep_1", "dst_a", true],
    ["ep_2", "dst_a", false],
    ["ep_2", "dst_unknown", true],
    ["ep_2", "", true],
  ])("endpoint %s keeps %s: %s", (endpointId, destinationId, kept) => {
    expect(keepsDestination(endpoints, endpointId, destinationId)).toBe(kept);
  });

  it("keeps it while the endpoints are not loaded", () => {
    expect(keepsDestination(undefined, "ep_2", "dst_a")).toBe(true);
  });
});
