import { describe, expect, it } from "vitest";
import { activeHubs, defaultHubId, hubNames, hubOptions, hubSummary, type HubLike } from "./hub-state";

const hub = (over: Partial<HubLike> & { id: string }): HubLike => ({
  name: over.id.replace(/^hub_/, ""),
  bootstrap: false,
  revoked: false,
  connected: false,
  hasCredential: true,
  ...over,
});

const home = hub({ id: "hub_bootstrap", name: "home", bootstrap: true, connected: true });
const garage = hub({ id: "hub_garage" });
const office = hub({ id: "hub_office", connected: true });

describe("hub summary", () => {
  it("says connected or offline when there is one hub", () => {
    expect(hubSummary([home]).label).toBe("Hub connected");
    expect(hubSummary([{ ...home, connected: false }]).label).toBe("Hub offline");
  });

  it("counts connected hubs when there are several", () => {
    expect(hubSummary([home, garage, office])).toEqual({ connected: 2, total: 3, label: "2/3 hubs connected" });
  });

  it("leaves out revoked hubs and a bootstrap hub without HOME_HUB_SECRET", () => {
    const noSecret = { ...home, connected: false, hasCredential: false };
    const revoked = { ...office, revoked: true, connected: false };
    expect(activeHubs([noSecret, garage, revoked])).toEqual([garage]);
    expect(hubSummary([noSecret, garage, revoked]).label).toBe("Hub offline");
    expect(hubSummary([noSecret]).label).toBe("No hub");
  });
});

describe("hub choices for a destination", () => {
  it("offers every hub that is not revoked, and the current one even if it is", () => {
    const revoked = { ...garage, revoked: true };
    expect(hubOptions([home, revoked, office]).map((o) => o.value)).toEqual(["hub_bootstrap", "hub_office"]);
    expect(hubOptions([home, revoked, office], "hub_garage").map((o) => o.value)).toEqual(["hub_bootstrap", "hub_garage", "hub_office"]);
    expect(hubOptions([home])[0]!.label).toBe("home (bootstrap) · connected");
  });

  it("defaults to the bootstrap hub when it can connect, else the first live hub", () => {
    expect(defaultHubId([garage, home])).toBe("hub_bootstrap");
    expect(defaultHubId([{ ...home, hasCredential: false }, garage])).toBe("hub_garage");
    expect(defaultHubId([{ ...home, revoked: true }, garage])).toBe("hub_garage");
    expect(defaultHubId([])).toBe("");
  });

  it("names hubs by id", () => {
    expect(hubNames([home, garage]).get("hub_garage")).toBe("garage");
  });
});
