import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * One vitest run for the whole repo, split in projects so `npm test` can report
 * unit, integration and browser results separately.
 */
export default defineConfig({
  test: {
    projects: [
      // The UI's own unit tests run under its vite config (Svelte plugin, $lib alias).
      {
        extends: "./ui/vite.config.ts",
        // note: SvelteKit's $lib alias is read from svelte.config.js in the cwd; name it here.
        test: {
          name: "ui",
          root: "./ui",
          include: ["src/**/*.test.ts"],
          alias: [{ find: /^\$lib\//, replacement: `${fileURLToPath(new URL("./ui/src/lib", import.meta.url))}/` }],
        },
      },
      {
        test: {
          name: "unit",
          include: ["apps/*/src/**/*.test.ts", "proto/src/**/*.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // note: builds apps/*/dist first; the tests that start processes run that output.
          globalSetup: ["./test/integration/setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // note: the suites start real processes and measure ordering; two cores only.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
