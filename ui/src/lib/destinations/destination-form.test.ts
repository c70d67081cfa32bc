import { create } from "@bufbuild/protobuf";
import { DestinationSchema } from "@hookly/proto/gen/admin_pb";
import { describe, expect, it } from "vitest";
import {
  createInput,
  destinationValues,
  emptyDestination,
  filterSummary,
  isJsonScalar,
  parseEventTypes,
  updateChange,
  validateDestination,
} from "./destination-form";

const valid = { ...emptyDestination("hub_bootstrap"), url: "http://nas.lan:8080/hook" };

const existing = create(DestinationSchema, {
  id: "dst_1",
  endpointId: "ep_1",
  hubId: "hub_bootstrap",
  url: "http://nas.lan:8080/hook",
  name: "NAS",
  enabled: true,
  muted: false,
  filter: { eventTypes: ["invoice.paid", "customer.*"], jsonPath: "$.data.object.livemode", equalsJson: "true" },
});

describe("destination form", () => {
  it("accepts a hub and an http(s) URL with no filter", () => {
    expect(validateDestination(valid)).toEqual({});
  });

  it("explains what is missing or wrong next to the field", () => {
    expect(validateDestination({ ...valid, hubId: "" }).hubId).toBeTruthy();
    expect(validateDestination({ ...valid, url: "" }).url).toBeTruthy();
    expect(validateDestination({ ...valid, url: "nas.lan/hook" }).url).toMatch(/http/);
    expect(validateDestination({ ...valid, url: "http://me:pw@nas.lan/" }).url).toBeTruthy();
    expect(validateDestination({ ...valid, name: "x".repeat(101) }).name).toBeTruthy();
    expect(validateDestination({ ...valid, eventTypes: "invoice.paid, two words" }).eventTypes).toMatch(/two words/);
  });

  it("wants a JSON path and a JSON scalar together", () => {
    expect(validateDestination({ ...valid, jsonPath: "$.status" }).equalsJson).toBeTruthy();
    expect(validateDestination({ ...valid, equalsJson: '"paid"' }).jsonPath).toBeTruthy();
    expect(validateDestination({ ...valid, jsonPath: "$.status", equalsJson: "paid" }).equalsJson).toMatch(/quotes/);
    expect(validateDestination({ ...valid, jsonPath: "$.status", equalsJson: '{"a":1}' }).equalsJson).toBeTruthy();
    expect(validateDestination({ ...valid, jsonPath: "$.status", equalsJson: '"paid"' })).toEqual({});
    for (const ok of ['"paid"', "true", "3", "null", "-1.5"]) expect(isJsonScalar(ok)).toBe(true);
    for (const bad of ["paid", "[1]", "{}", ""]) expect(isJsonScalar(bad)).toBe(false);
  });

  it("reads event types from a comma list, without blanks or repeats", () => {
    expect(parseEventTypes(" invoice.paid, ,push,invoice.paid\ncustomer.* ")).toEqual(["invoice.paid", "push", "customer.*"]);
    expect(parseEventTypes("")).toEqual([]);
  });

  it("creates with the filter as the edge takes it (disabled is the inverse of enabled)", () => {
    const input = createInput({ ...valid, name: " Second ", enabled: false, eventTypes: "push, issues", jsonPath: "$.ref", equalsJson: ' "main" ' });
    expect(input).toMatchObject({ hubId: "hub_bootstrap", url: "http://nas.lan:8080/hook", name: "Second", disabled: true, muted: false });
    expect(input.filter).toEqual({ eventTypes: ["push", "issues"], jsonPath: "$.ref", equalsJson: '"main"' });
    expect(createInput(valid).filter).toEqual({ eventTypes: [], jsonPath: "", equalsJson: "" });
  });

  it("updates only what changed, and the whole filter when it changed", () => {
    const values = destinationValues(existing);
    expect(values.eventTypes).toBe("invoice.paid, customer.*");
    expect(updateChange(existing, values)).toEqual({});
    expect(updateChange(existing, { ...values, eventTypes: "invoice.paid,customer.*", equalsJson: " true " })).toEqual({});
    expect(updateChange(existing, { ...values, muted: true, name: "Backup" })).toEqual({ muted: true, name: "Backup" });
    expect(updateChange(existing, { ...values, eventTypes: "", jsonPath: "", equalsJson: "" })).toEqual({
      filter: { eventTypes: [], jsonPath: "", equalsJson: "" },
    });
    expect(updateChange(existing, { ...values, hubId: "hub_office" })).toEqual({ hubId: "hub_office" });
  });

  it("sums a filter up in a few words", () => {
    expect(filterSummary(undefined)).toBe("Everything");
    expect(filterSummary({ eventTypes: [], jsonPath: "", equalsJson: "" })).toBe("Everything");
    expect(filterSummary(existing.filter)).toBe("event type invoice.paid, customer.* and $.data.object.livemode = true");
    expect(filterSummary({ eventTypes: [], jsonPath: "$.status", equalsJson: '"paid"' })).toBe('$.status = "paid"');
  });
});
