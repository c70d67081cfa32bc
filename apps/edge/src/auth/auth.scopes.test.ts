import { describe, expect, it } from "vitest";
import { AdminService } from "@hookly/proto/gen/admin_pb";
import { RPC_SCOPES, SCOPES, covers, onlyMutes, requireScope, scopeOfRpc } from "./auth.scopes.js";

describe("scopes", () => {
  it("each covers the ones before it, and none after", () => {
    for (const [i, have] of SCOPES.entries()) for (const [j, need] of SCOPES.entries()) expect(covers(have, need), `${have} ⊇ ${need}`).toBe(i >= j);
  });

  it("name a scope for every AdminService method, reads read, replays and queue actions operate, the rest admin", () => {
    expect(Object.keys(RPC_SCOPES).sort()).toEqual(Object.keys(AdminService.method).sort());
    for (const m of Object.keys(AdminService.method)) {
      const want = /^(list|get|watch|whoAmI)/.test(m) && m !== "listApiTokens" ? "read" : /^(replay|actOnDelivery|bulkAct)/.test(m) ? "operate" : "admin";
      expect(scopeOfRpc(m), m).toBe(want);
    }
    expect(scopeOfRpc("someNewerMethod")).toBe("admin");
  });

  it("let an operator mute and unmute, but not change anything else of an endpoint", () => {
    expect(scopeOfRpc("updateEndpoint", { id: "ep_x", muted: true })).toBe("operate");
    expect(scopeOfRpc("updateEndpoint", { id: "ep_x", muted: false, name: undefined })).toBe("operate");
    expect(scopeOfRpc("updateEndpoint", { id: "ep_x", muted: true, destinationUrl: "http://evil/" })).toBe("admin");
    expect(scopeOfRpc("updateEndpoint", { id: "ep_x" })).toBe("admin");
    expect(onlyMutes({ muted: true, $typeName: "hookly.v1.UpdateEndpointRequest" })).toBe(true);
  });

  it("refuse with permission_denied, naming both scopes", () => {
    expect(() => requireScope("read", "operate")).toThrow(/needs the operate scope; the caller has read/);
    expect(() => requireScope("admin", "operate")).not.toThrow();
  });
});
