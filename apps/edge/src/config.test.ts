/** The edge's environment schema: every variable documented as data, defaults unchanged by it. */
import { describe, expect, it } from "vitest";
import { edgeEnvSchema, loadConfig } from "./config.js";

const BASE = {
  ENCRYPTION_KEY: "0123456789abcdef".repeat(4),
  ADMIN_TOKEN: "admin-token-for-tests-0123456789",
};

describe("edge configuration schema", () => {
  it("gives every variable a non-empty description (the README's configuration table)", () => {
    const undocumented = Object.entries(edgeEnvSchema.shape)
      .filter(([, field]) => !field.meta()?.description?.trim())
      .map(([name]) => name);
    expect(Object.keys(edgeEnvSchema.shape).length).toBeGreaterThan(20);
    expect(undocumented).toEqual([]);
  });

  it("still applies the defaults of described fields", () => {
    const config = loadConfig(BASE);
    expect(config).toMatchObject({ port: 8080, host: "0.0.0.0", hubSecrets: [], trustProxy: false, logLevel: "info" });
    expect(config.baseUrl).toBe("http://localhost:8080");
  });
});
