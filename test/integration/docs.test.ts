/**
 * The README's configuration table is generated from the config schemas; this
 * fails when someone adds a variable without regenerating it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { edgeEnvSchema } from "../../apps/edge/src/config.js";
import { hubEnvSchema } from "../../apps/hub/src/config.js";
import { readmeWithTable } from "../../scripts/config-docs.js";
import { ROOT } from "../harness.js";

describe("README", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");

  it("has the current configuration table (npx tsx scripts/config-docs.ts --write)", () => {
    expect(readme).toBe(readmeWithTable(readme));
  });

  it("documents every variable of both schemas", () => {
    const keys = [...Object.keys(edgeEnvSchema.shape ?? {}), ...Object.keys(hubEnvSchema.shape ?? {})];
    expect(keys.length).toBeGreaterThan(20);
    for (const key of keys) expect(readme, key).toContain(`\`${key}\``);
  });
});
