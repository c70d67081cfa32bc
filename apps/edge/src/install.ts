/**
 * Where the edge's files are, found from the running module whether it is a
 * source file under `src/` (tsx, vitest) or the bundle under `dist/` (plain
 * node in production): the directory of the `@hookly/edge` package.json
 * above it. The migrations ship as `.sql` files beside the sources and the UI
 * as static files of the workspace next door.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findEdgeDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "@hookly/edge") return dir;
    if (dirname(dir) === dir) throw new Error(`no @hookly/edge package.json above ${from}`);
  }
}

/** The `apps/edge` directory (in the image: /app/apps/edge). */
export const EDGE_DIR = findEdgeDir(dirname(fileURLToPath(import.meta.url)));

/** The numbered `.sql` migrations. */
export const MIGRATIONS_DIR = join(EDGE_DIR, "src", "migrations");

/** The built SvelteKit UI the edge serves by default (`npm run build -w @hookly/ui`). */
export const UI_BUILD_DIR = join(EDGE_DIR, "..", "..", "ui", "build");

/** The stdio MCP server as one self-contained file, when built (`npm run build`; scripts/bundle.ts). */
export const STANDALONE_MCP_FILE = join(EDGE_DIR, "dist", "hookly-mcp.mjs");
