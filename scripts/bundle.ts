/**
 * Builds the JavaScript the edge and the hub run in production:
 * `apps/<app>/dist/*.js`, one ES module per entry point, run by plain `node`
 * (no tsx, no esbuild at run time).
 *
 * Why a bundle and not tsc's file-per-file output: the workspace package
 * @hookly/proto exports TypeScript sources (`./gen/*.ts`), which plain node
 * cannot load; a bundle takes our own code (the app and @hookly/proto) into
 * one file per entry point and leaves every npm dependency external, loaded
 * from node_modules as before (better-sqlite3 is native; the others are
 * loaded exactly as in the tests). Start-up reads a handful of files instead
 * of compiling about a hundred, and esbuild is the same transform tsx and
 * vitest apply to the sources the unit tests run, so the two cannot differ
 * in what they understand. Dynamic `import()`s stay lazy (code splitting):
 * the MCP server, Telegram and GitHub sign-in are only loaded when used.
 *
 * The integration tests and the bench run this output (their global set-up
 * calls {@link bundleApps} first), so what they test is what ships.
 *
 * Usage: `tsx scripts/bundle.ts [edge|hub]…` (default both); `npm run build`
 * runs it through each app's `build` script.
 */
import { build, type Plugin } from "esbuild";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

/** Entry points of each app, by output name (`dist/<name>.js`). */
export const ENTRY_POINTS = {
  edge: { main: "src/main.ts", cli: "src/cli.ts", "mcp-stdio": "src/mcp/stdio.ts" },
  hub: { main: "src/main.ts" },
} as const;

/** The apps that are bundled. */
export type BundledApp = keyof typeof ENTRY_POINTS;

/** Leaves every npm package external except our own workspace packages (TypeScript sources). */
const npmExternal: Plugin = {
  name: "npm-external",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith("@hookly/") ? undefined : { path: args.path, external: true }));
  },
};

/**
 * The stdio MCP server as one self-contained file (`apps/edge/dist/hookly-mcp.mjs`):
 * every dependency bundled in, minified, run by plain `node` from anywhere —
 * no checkout, no npm install. The edge serves it at /downloads/hookly-mcp.mjs.
 */
export const STANDALONE_MCP = "hookly-mcp.mjs";

/** Builds {@link STANDALONE_MCP} into `outdir`. */
async function bundleStandaloneMcp(appDir: string, outdir: string): Promise<void> {
  await build({
    absWorkingDir: appDir,
    entryPoints: ["src/mcp/stdio.ts"],
    outfile: join(outdir, STANDALONE_MCP),
    bundle: true,
    minify: true,
    platform: "node",
    format: "esm",
    target: "node20",
    keepNames: true,
    legalComments: "linked",
    logLevel: "warning",
    // note: some bundled CommonJS modules call require(); an ES module has none of its own.
    banner: { js: 'import { createRequire as __hooklyRequire } from "node:module"; const require = __hooklyRequire(import.meta.url);' },
  });
}

/** Path of an app's built entry point `name` (default `main`). */
export function distFile(app: BundledApp, name = "main"): string {
  return join(ROOT, "apps", app, "dist", `${name}.js`);
}

/** Bundles `apps` (default both) into `apps/<app>/dist/`, replacing what was there. */
export async function bundleApps(apps: readonly BundledApp[] = ["edge", "hub"]): Promise<void> {
  await Promise.all(
    apps.map(async (app) => {
      const appDir = join(ROOT, "apps", app);
      const outdir = join(appDir, "dist");
      rmSync(outdir, { recursive: true, force: true });
      await build({
        absWorkingDir: appDir,
        entryPoints: Object.entries(ENTRY_POINTS[app]).map(([out, src]) => ({ in: src, out })),
        outdir,
        bundle: true,
        splitting: true,
        chunkNames: "chunk-[hash]",
        platform: "node",
        format: "esm",
        target: "node20",
        sourcemap: "linked",
        // note: keeps class and function names (pino's err serializer, stack traces, error type checks by name in logs).
        keepNames: true,
        plugins: [npmExternal],
        logLevel: "warning",
        banner: { js: "// Built by scripts/bundle.ts from apps/*/src — do not edit." },
      });
      if (app === "edge") await bundleStandaloneMcp(appDir, outdir);
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const wanted = process.argv.slice(2);
  const apps = (wanted.length ? wanted : Object.keys(ENTRY_POINTS)) as BundledApp[];
  for (const app of apps) if (!(app in ENTRY_POINTS)) throw new Error(`unknown app ${app}: expected ${Object.keys(ENTRY_POINTS).join(" or ")}`);
  await bundleApps(apps);
}
