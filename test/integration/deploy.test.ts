/**
 * The deployment files agree with the code: every variable the compose files
 * and the Caddyfile use, and every variable the edge and hub configs know, is
 * documented in .env.example (with a comment above it); the Dockerfiles and
 * systemd units start files that exist; the proxy settings the hub's stream
 * needs are in place. No Docker needed: the files are read, not run.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { edgeEnvSchema } from "../../apps/edge/src/config.js";
import { hubEnvSchema } from "../../apps/hub/src/config.js";
import { parse } from "yaml";
import { ROOT } from "../harness.js";
import { distFile, type BundledApp } from "../../scripts/bundle.js";

const DEPLOY = join(ROOT, "deploy");
const read = (path: string) => readFileSync(path, "utf8");

type Service = Record<string, unknown>;
function services(file: string): Record<string, Service> {
  const doc = parse(read(join(DEPLOY, file))) as { services: Record<string, Service> };
  return doc.services;
}

/** Every scalar in a parsed document, as text (numbers and booleans included). */
function strings(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (typeof v === "object") return Object.values(v).flatMap(strings);
  return [String(v)];
}

/** `${VAR}`, `${VAR:-x}`, `${VAR:?msg}`, `$VAR` (not `$$`) in compose strings. */
function composeVariables(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}/g)) found.add(m[1]!);
  for (const m of text.matchAll(/(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)/g)) found.add(m[1]!);
  return [...found];
}

/** Keys a service's `environment:` sets (map or `KEY=value` list). */
function environmentKeys(service: Service): string[] {
  const env = service.environment;
  if (!env) return [];
  if (Array.isArray(env)) return env.map((e) => String(e).split("=")[0]!);
  return Object.keys(env);
}

/** `KEY=` lines of .env.example, with the line above each. */
function envExample(): Map<string, { above: string; line: number }> {
  const lines = read(join(ROOT, ".env.example")).split("\n");
  const out = new Map<string, { above: string; line: number }>();
  lines.forEach((l, i) => {
    const m = /^([A-Z][A-Z0-9_]*)=/.exec(l);
    if (!m) return;
    if (out.has(m[1]!)) throw new Error(`.env.example sets ${m[1]} twice (line ${out.get(m[1]!)!.line} and ${i + 1})`);
    out.set(m[1]!, { above: lines[i - 1] ?? "", line: i + 1 });
  });
  return out;
}

describe("compose files as the yaml package reads them", () => {
  it.each([
    ["a: 1\nb:\n  c: x # note\n  d: 'it''s'\n", { a: 1, b: { c: "x", d: "it's" } }],
    ['l:\n  - a\n  - k: v\n    k2: "w # not a comment"\n  -\n    - nested\n', { l: ["a", { k: "v", k2: "w # not a comment" }, ["nested"]] }],
    ["l:\n- same-indent\nm:\n", { l: ["same-indent"], m: null }],
    // note: YAML 1.2, so port pairs stay strings (YAML 1.1 read `80:80` as the base-60 number 4880).
    [
      "p:\n  - 127.0.0.1:8080:8080\n  - ./data:/app/data\n  - 80:80\n  - 443:443/udp\n",
      { p: ["127.0.0.1:8080:8080", "./data:/app/data", "80:80", "443:443/udp"] },
    ],
    // What the old hand-written subset refused is plain YAML now: anchors and aliases, flow collections, block scalars.
    ["a: &x 1\nb: *x\n", { a: 1, b: 1 }],
    ["a: [1, 2]\n", { a: [1, 2] }],
    ["a: {b: 1}\n", { a: { b: 1 } }],
    ["a: |\n  text\n", { a: "text\n" }],
  ])("reads %j", (source, want) => {
    expect(parse(source)).toEqual(want);
  });

  it.each(["a: *x\n", "a:\n\t- 1\n", "a: 1\na: 2\n", "a: 'open\n", "a:\n    b: 1\n  c: 2\n"])("refuses %j", (source) => {
    expect(() => parse(source)).toThrow();
  });
});

describe("deployment files", () => {
  const documented = envExample();

  it("every variable of the edge and hub config schemas is in .env.example with a comment above it", () => {
    const keys = new Set([...Object.keys(edgeEnvSchema.shape), ...Object.keys(hubEnvSchema.shape)]);
    expect(keys.size).toBeGreaterThan(20);
    const missing = [...keys].filter((k) => !documented.has(k));
    expect(missing, "variables missing from .env.example").toEqual([]);
    const uncommented = [...keys].filter((k) => !documented.get(k)!.above.startsWith("#"));
    expect(uncommented, "variables without a comment line above them in .env.example").toEqual([]);
  });

  it("every variable the compose files and the Caddyfile use is documented in .env.example", () => {
    const used = new Set<string>();
    for (const file of ["docker-compose.edge.yml", "docker-compose.home.yml"]) {
      const svcs = services(file);
      for (const svc of Object.values(svcs)) {
        for (const v of composeVariables(strings(svc).join("\n"))) used.add(v);
        for (const k of environmentKeys(svc)) used.add(k);
      }
    }
    for (const m of read(join(DEPLOY, "Caddyfile")).matchAll(/\{\$([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}/g)) used.add(m[1]!);
    expect([...used]).toEqual(expect.arrayContaining(["HOOKLY_DOMAIN", "HOOKLY_EDGE_IMAGE", "HOOKLY_HUB_IMAGE", "DATABASE_PATH"]));
    const missing = [...used].filter((v) => !documented.has(v));
    expect(missing, "used by deploy/ but not in .env.example").toEqual([]);
    const uncommented = [...used].filter((v) => !documented.get(v)!.above.startsWith("#"));
    expect(uncommented).toEqual([]);
  });

  it("the edge compose file: env_file, data volume, loopback port, Caddy with the Caddyfile", () => {
    const { edge, caddy } = services("docker-compose.edge.yml");
    expect(edge).toBeDefined();
    expect(edge!.env_file).toBe(".env");
    expect(edge!.restart).toBe("unless-stopped");
    expect(edge!.volumes).toContain("./data:/app/data");
    expect((edge!.environment as Record<string, string>).DATABASE_PATH).toMatch(/^\/app\/data\//);
    const ports = edge!.ports as string[];
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p, "the edge's port is published on loopback only; Caddy is the public side").toMatch(/^127\.0\.0\.1:/);
    expect(caddy).toBeDefined();
    const caddyfileMount = (caddy!.volumes as string[]).find((v) => v.includes(":/etc/caddy/Caddyfile"));
    expect(caddyfileMount).toBeDefined();
    expect(existsSync(join(DEPLOY, caddyfileMount!.split(":")[0]!))).toBe(true);
    expect(caddy!.ports).toEqual(expect.arrayContaining(["80:80", "443:443"]));
  });

  it("the home compose file: the hub restarts unless stopped and reads .env", () => {
    const { hub } = services("docker-compose.home.yml");
    expect(hub).toBeDefined();
    expect(hub!.restart).toBe("unless-stopped");
    expect(hub!.env_file).toBe(".env");
    expect(hub!.ports, "the hub dials out; it needs no published port").toBeUndefined();
  });

  it("build sections point at Dockerfiles whose COPY sources and CMD files exist", () => {
    const builds = [...Object.values(services("docker-compose.edge.yml")), ...Object.values(services("docker-compose.home.yml"))].flatMap((s) =>
      s.build ? [s.build as Record<string, string>] : [],
    );
    expect(builds).toHaveLength(2);
    for (const b of builds) {
      const context = join(DEPLOY, b.context!);
      const dockerfile = join(context, b.dockerfile!);
      expect(existsSync(dockerfile), dockerfile).toBe(true);
      const text = read(dockerfile);
      expect(text).toMatch(/^FROM \$\{NODE_IMAGE\} AS build$/m);
      expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
      expect(text).toMatch(/^USER node$/m);
      expect(text).toMatch(/^HEALTHCHECK [\s\S]*\/healthz/m);
      expect(text).toContain("npm ci");
      const pinned = (JSON.parse(read(join(ROOT, "package.json"))) as { packageManager: string }).packageManager;
      expect(text, "the build stage installs the npm that package.json pins").toContain(`install -g --no-audit --no-fund ${pinned}`);
      // COPY from the build context (not --from=build): each source exists.
      for (const m of text.matchAll(/^COPY (?!--from)(.+)$/gm)) {
        const parts = m[1]!.trim().split(/\s+/);
        for (const src of parts.slice(0, -1)) expect(existsSync(join(context, src)), `${b.dockerfile}: COPY ${src}`).toBe(true);
      }
      const cmd = /^CMD (\[.*\])$/m.exec(text);
      expect(cmd, `${b.dockerfile} has an exec-form CMD`).not.toBeNull();
      const argv = JSON.parse(cmd![1]!) as string[];
      // Plain node on the bundle scripts/bundle.ts builds (the one the integration tests run): no tsx at run time.
      expect(argv).not.toContain("tsx");
      expect(argv[0]).toBe("node");
      const entry = argv.at(-1)!;
      const app = /^apps\/(edge|hub)\/dist\/main\.js$/.exec(entry)?.[1] as BundledApp | undefined;
      expect(app, entry).toBeDefined();
      expect(relative(ROOT, distFile(app!)), "the entry point is the bundle's").toBe(entry);
      expect(text).toContain(`npm run build --workspace @hookly/${app}`);
      expect(text, "dev dependencies are pruned and none is put back").toContain("npm prune --omit=dev");
      expect(text).not.toMatch(/node_modules\/(tsx|esbuild)/);
      // The runtime stage copies what the bundle needs: its dist, its package.json (how install.ts finds the app) and node_modules.
      expect(text).toContain(`COPY --from=build /app/apps/${app}/dist apps/${app}/dist`);
      expect(text).toContain(`COPY --from=build /app/apps/${app}/package.json apps/${app}/`);
      expect(text).toContain("COPY --from=build /app/node_modules node_modules");
      if (app === "edge") {
        expect(text).toContain("COPY --from=build /app/apps/edge/src/migrations apps/edge/src/migrations");
        expect(text).toContain("COPY --from=build /app/ui/build ui/build");
      }
    }
  });

  it("the Caddyfile proxies h1 and h2c to one upstream without buffering or timeouts", () => {
    const caddyfile = read(join(DEPLOY, "Caddyfile"));
    const directives = caddyfile
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    expect(directives).toContain("{$HOOKLY_DOMAIN} {");
    expect(directives).toContain("versions h1 h2c");
    expect(directives).toContain("flush_interval -1");
    expect(
      directives.filter((d) => /timeout/.test(d)),
      "no timeouts on the stream path",
    ).toEqual([]);
  });

  it("the systemd units run existing entry points with an EnvironmentFile, restart and hardening", () => {
    for (const [unit, app] of [
      ["hookly-edge.service", "edge"],
      ["hookly-hub.service", "hub"],
    ] as const) {
      const text = read(join(DEPLOY, unit));
      const setting = (key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!);
      expect(setting("EnvironmentFile"), unit).toHaveLength(1);
      expect(setting("Restart")).toEqual(["always"]);
      expect(setting("NoNewPrivileges")).toEqual(["yes"]);
      expect(setting("ProtectSystem")).toEqual(["strict"]);
      expect(setting("DynamicUser")).toEqual(["yes"]);
      const exec = setting("ExecStart")[0]!.split(/\s+/);
      expect(exec).not.toContain("tsx");
      expect(exec.at(-1)).toBe(relative(ROOT, distFile(app)));
      expect(text, "the install steps build the bundle").toContain(`npm run build -w @hookly/${app}`);
    }
    const edge = read(join(DEPLOY, "hookly-edge.service"));
    expect(edge).toMatch(/^StateDirectory=hookly$/m);
    expect(edge).toMatch(/^ReadWritePaths=\/var\/lib\/hookly$/m);
  });
});
