/** The hub's environment: its own credential (HUB_ID + HUB_SECRET) or the bootstrap HOME_HUB_SECRET. */
import { describe, expect, it } from "vitest";
import { ConfigError, hubEnvSchema, loadHubConfig } from "./config.js";

const SECRET = "s".repeat(43);
const base = { EDGE_URL: "https://edge.example" };

describe("hub configuration", () => {
  it("takes its own credential: HUB_ID (hub_…) and HUB_SECRET", () => {
    const c = loadHubConfig({ ...base, HUB_ID: "hub_V1StGXR8_Z5jdHi6B-myT", HUB_SECRET: SECRET });
    expect(c).toMatchObject({ hubId: "hub_V1StGXR8_Z5jdHi6B-myT", secret: SECRET, edgeUrl: "https://edge.example" });
  });

  it("still takes HOME_HUB_SECRET with any name, as the bootstrap hub", () => {
    expect(loadHubConfig({ ...base, HUB_ID: "nas", HOME_HUB_SECRET: SECRET })).toMatchObject({ hubId: "nas", secret: SECRET });
  });

  it.each([
    ["no credential at all", { HUB_ID: "nas" }, /HUB_SECRET: is required/],
    ["both credentials", { HUB_ID: "hub_V1StGXR8_Z5jdHi6B-myT", HUB_SECRET: SECRET, HOME_HUB_SECRET: SECRET }, /set HUB_SECRET or HOME_HUB_SECRET, not both/],
    ["HUB_SECRET with a name instead of the hub's id", { HUB_ID: "nas", HUB_SECRET: SECRET }, /HUB_ID: must be the hub's id on the edge/],
    ["a short HUB_SECRET", { HUB_ID: "hub_V1StGXR8_Z5jdHi6B-myT", HUB_SECRET: "short" }, /HUB_SECRET: must be at least 32 characters/],
  ])("refuses %s, saying which variable", (_name, env, message) => {
    expect(() => loadHubConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadHubConfig({ ...base, ...env })).toThrow(message);
  });

  it("counts an empty HOME_HUB_SECRET as unset (a .env that moved to HUB_SECRET)", () => {
    expect(loadHubConfig({ ...base, HUB_ID: "hub_V1StGXR8_Z5jdHi6B-myT", HUB_SECRET: SECRET, HOME_HUB_SECRET: "" }).secret).toBe(SECRET);
  });

  it("gives every variable a non-empty description (the README's configuration table)", () => {
    const undocumented = Object.entries(hubEnvSchema.shape)
      .filter(([, field]) => !field.meta()?.description?.trim())
      .map(([name]) => name);
    expect(Object.keys(hubEnvSchema.shape).length).toBeGreaterThan(5);
    expect(undocumented).toEqual([]);
  });
});
