/**
 * `npm run bench`: Hookly against a direct POST baseline, measured in the
 * same run on this machine. Edge, hub and the LAN target run as their own
 * processes; this process drives load (bounded in count and time), or wrk
 * does when it is installed.
 *
 *  1. latency at 200/s and 1,000/s: direct POST vs provider → edge → hub → target,
 *     both the provider's wait for its 2xx and end to end (send → arrival)
 *  2. highest sustained durable ingest rate (1 KB bodies, 100 endpoints)
 *  3. one endpoint's ordered throughput, and with 50 ms RTT between hub and edge
 *  4. fan-out: two hubs, every webhook to two destinations (one on each), against
 *     one destination and a direct POST: latency, throughput, CPU per webhook
 *  5. the admin API over 100,000 stored webhooks: ListWebhooks per filter (first and
 *     next page), GetStatus and ListEndpoints, in process (no HTTP in the figure)
 *
 * `npm run bench -- latency` (or `ingest`, `ordered`, `fanout`, `admin`) runs only those sections;
 * RATES=200,1000 and SECS=5 set the latency runs.
 * Prints a Markdown table (paste it into docs/benchmarks.md).
 */
import { Ordering, ProviderType } from "@hookly/proto/gen/admin_pb";
import { execFile, fork, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";
import {
  TEST_EPOCH,
  TEST_SECRETS,
  TestClock,
  adminClient,
  buildEdge,
  createEndpoint,
  createHubCredentials,
  freePort,
  registeredHubEnv,
  spawnApp,
  tempDir,
  waitUntil,
  type Spawned,
} from "../test/harness.js";
import { LIST_CASES, seedWebhooks } from "../test/seed.js";
import { bundleApps } from "../scripts/bundle.js";

const children: Spawned[] = [];
const cleanup = async () => {
  for (const c of children) await c.kill("SIGKILL");
};
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

/** The LAN target (bench/target.ts, its own process): when each webhook (by body tag) arrived. */
async function startTarget() {
  const arrivals = new Map<string, number>();
  let count = 0;
  const child = fork(join(import.meta.dirname, "target.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve) => {
    child.on("message", (m: { port?: number; arrivals?: [string, number][]; count?: number }) => {
      if (m.port) resolve(m.port);
      for (const [tag, at] of m.arrivals ?? []) if (!arrivals.has(tag)) arrivals.set(tag, at);
      if (m.count !== undefined) count = m.count;
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    count: () => count,
    pid: child.pid,
    close: async () => {
      child.kill("SIGTERM");
    },
  };
}

type Target = Awaited<ReturnType<typeof startTarget>>;

/** Clock ticks per second of /proc's CPU times (Linux; 100 almost everywhere). */
const clockTicks = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100;
/** CPU time (user + system) a process has used, in ms; NaN where /proc is missing. */
function cpuMs(pid: number | undefined): number {
  try {
    // note: the command name (field 2) may hold spaces; fields after its ")" are fixed.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return NaN;
  }
}
/** Busy and total CPU time of the whole machine, in ticks; NaN where /proc is missing. */
function machineTicks(): { busy: number; total: number } {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number) as number[];
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    return { busy, total: busy + idle! + iowait! };
  } catch {
    return { busy: NaN, total: NaN };
  }
}
/** Measures CPU use of the given processes and of the machine around `run`. */
async function withCpu<T>(pids: (number | undefined)[], run: () => Promise<T>) {
  const before = pids.map(cpuMs);
  const m0 = machineTicks();
  const result = await run();
  const m1 = machineTicks();
  return { result, cpuMs: pids.map((pid, i) => cpuMs(pid) - before[i]!), machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total) };
}

/** Sections to run: `npm run bench -- latency ingest ordered` (default: all). */
const only = process.argv.slice(2);
const SECTIONS = ["latency", "ingest", "ordered", "fanout", "admin", "large"];
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown bench section "${s}" (${SECTIONS.join(", ")})`);
const want = (section: string) => only.length === 0 || only.includes(section);

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(url: string, body: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const pad = "x".repeat(1024 - 60);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/**
 * Sends `rate`/s for `seconds` (open loop) and returns end-to-end latencies (send → arrival at target).
 * `arrivalsOf` names the arrivals a webhook must make (a fan-out's destinations); its latency is the last one's.
 */
async function latencyRun(label: string, urls: string[], target: Target, rate: number, seconds: number, arrivalsOf: (tag: string) => string[] = (t) => [t]) {
  const sent = new Map<string, number>();
  const total = rate * seconds;
  const start = performance.now();
  const inflight: Promise<unknown>[] = [];
  const acks: number[] = [];
  let errors = 0;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const tag = `${label}-${i}`;
    const at = now();
    sent.set(tag, at);
    inflight.push(
      post(urls[i % urls.length]!, `{"tag":"${tag}","pad":"${pad}"}`).then(
        (s) => (s >= 300 ? errors++ : acks.push(now() - at)),
        () => errors++,
      ),
    );
  }
  await Promise.all(inflight);
  await waitUntil(() => [...sent.keys()].every((t) => arrivalsOf(t).every((k) => target.arrivals.has(k))), 60_000, `${label}: all arrivals`);
  const lat = [...sent].map(([t, at]) => Math.max(...arrivalsOf(t).map((k) => target.arrivals.get(k)!)) - at).sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  return {
    ack50: percentile(acks, 50),
    ack99: percentile(acks, 99),
    p50: percentile(lat, 50),
    p95: percentile(lat, 95),
    p99: percentile(lat, 99),
    errors,
    achieved: total / ((performance.now() - start) / 1000),
  };
}

/** Closed-loop ingest with `concurrency` connections for up to `seconds` or `max` requests. */
async function ingestRun(urls: string[], concurrency: number, seconds: number, max: number) {
  let done = 0;
  let failed = 0;
  const start = performance.now();
  const stopAt = start + seconds * 1000;
  const body = `{"tag":"ingest","pad":"${pad}"}`;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      let i = w;
      while (performance.now() < stopAt && done + failed < max) {
        const status = await post(urls[i % urls.length]!, body).catch(() => 0);
        if (status >= 200 && status < 300) done++;
        else failed++;
        i += concurrency;
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  return { rate: done / secs, done, failed, secs };
}

/** Whether wrk (Debian package `wrk`) is installed: a far lighter load generator than Node. */
const hasWrk = spawnSync("wrk", ["--version"]).error === undefined;

/** Closed-loop POST load with wrk; returns completed 2xx per second. */
async function wrkRun(base: string, paths: string[], connections: number, seconds: number, dir: string) {
  const file = join(dir, "paths.txt");
  writeFileSync(file, paths.join("\n"));
  // note: asynchronous — this process also hosts the target wrk may be loading.
  const { stdout: out } = await promisify(execFile)(
    "wrk",
    ["-t1", `-c${connections}`, `-d${seconds}s`, "-s", join(import.meta.dirname, "wrk-post.lua"), base],
    {
      env: { ...process.env, PATHS_FILE: file },
    },
  );
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const done = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  if (done === 0) console.error(`wrk did not complete any request:\n${out}`);
  return { rate: rate * (1 - non2xx / Math.max(done, 1)), done: done - non2xx, failed: non2xx, secs: seconds };
}

/** A TCP proxy adding `oneWayMs` to each direction (RTT = 2 × oneWayMs). */
async function delayProxy(targetPort: number, oneWayMs: number) {
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pipe = (from: net.Socket, to: net.Socket) =>
      from.on("data", (d) => setTimeout(() => to.write(d), oneWayMs)).on("close", () => setTimeout(() => to.destroy(), oneWayMs));
    pipe(client, upstream);
    pipe(upstream, client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

function edgeEnv(dir: string, port: number) {
  return {
    ...TEST_SECRETS,
    PORT: String(port),
    HOST: "127.0.0.1",
    BASE_URL: `http://127.0.0.1:${port}`,
    DATABASE_PATH: join(dir, "bench.db"),
    LOG_LEVEL: "info",
    // note: the load generator is one source with up to 256 keep-alive sockets (plus the hubs'):
    // the per-source cap would refuse some of them, and this measures throughput, not admission.
    MAX_CONNECTIONS_PER_SOURCE: "0",
  };
}
function hubEnv(port: number | string) {
  return { EDGE_URL: `http://127.0.0.1:${port}`, HOME_HUB_SECRET: TEST_SECRETS.HOME_HUB_SECRET, HUB_ID: "bench", LOG_LEVEL: "warn" };
}

const M = 3000;
const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");

async function main() {
  const rows: string[] = [];
  // The edge and hub processes run the production build, made fresh from the sources.
  await bundleApps();
  const target = await startTarget();
  const { dir, remove } = tempDir("hookly-bench-");
  const port = await freePort();
  const edge = spawnApp("edge", edgeEnv(dir, port));
  children.push(edge);
  await edge.waitForLog(/edge listening/, 30_000);
  const base = `http://127.0.0.1:${port}`;
  if (want("latency")) await latencySection(base, edge, target, rows);
  if (want("ingest")) await ingestSection(base, target, dir);
  if (want("ordered")) await orderedSection(base, port, target);
  if (want("fanout")) await fanoutSection(base, port, edge, target);
  if (want("admin")) await adminSection();
  if (want("large")) await largeSection(target);
  await cleanup();
  await target.close();
  remove();
  agent.destroy();
}

async function latencySection(base: string, edge: Spawned, target: Target, rows: string[]) {
  const hub = spawnApp("hub", hubEnv(new URL(base).port));
  children.push(hub);
  // note: latency is measured over 10 endpoints (the rate spread across them); one endpoint's
  // strictly ordered ceiling is measured on its own below.
  const latEps = await Promise.all(Array.from({ length: 10 }, (_, i) => createEndpoint(base, `${target.url}/lat`, { name: `lat-${i}` })));
  const latUrls = latEps.map((e) => e.ingestUrl);
  // Warm up both paths.
  await latencyRun("warm-direct", [`${target.url}/lat`], target, 200, 1);
  await latencyRun("warm-relay", latUrls, target, 200, 1);

  console.log("## Latency, ms: the provider's wait for its 2xx, and end to end (send → arrival at the LAN target)\n");
  console.log(
    "CPU columns: ms of CPU per webhook (user + system) of the edge, the hub, the LAN target and this load generator, and how busy the whole machine was.\n",
  );
  rows.push(
    "| rate | path | 2xx p50 | 2xx p99 | p50 | p95 | p99 | p99 overhead | errors | CPU ms/webhook edge · hub · target · generator | machine busy |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const rate of (process.env.RATES ?? "200,1000").split(",").map(Number)) {
    const secs = Number(process.env.SECS ?? 5);
    const pids = [edge.child.pid, hub.child.pid, target.pid, process.pid];
    const cpu = (c: { cpuMs: number[]; machineBusy: number }, n: number) =>
      `${c.cpuMs.map((ms) => (ms / n).toFixed(2)).join(" · ")} | ${(c.machineBusy * 100).toFixed(0)}%`;
    const d = await withCpu(pids, () => latencyRun(`direct-${rate}`, [`${target.url}/lat`], target, rate, secs));
    const r = await withCpu(pids, () => latencyRun(`relay-${rate}`, latUrls, target, rate, secs));
    const [direct, relay] = [d.result, r.result];
    rows.push(
      `| ${rate}/s | direct POST | ${fmt(direct.ack50)} | ${fmt(direct.ack99)} | ${fmt(direct.p50)} | ${fmt(direct.p95)} | ${fmt(direct.p99)} | | ${direct.errors} | ${cpu(d, rate * secs)} |`,
    );
    rows.push(
      `| ${rate}/s | edge → hub | ${fmt(relay.ack50)} | ${fmt(relay.ack99)} | ${fmt(relay.p50)} | ${fmt(relay.p95)} | ${fmt(relay.p99)} | +${fmt(relay.p99 - direct.p99)} (×${(relay.p99 / direct.p99).toFixed(1)}) | ${relay.errors} | ${cpu(r, rate * secs)} |`,
    );
  }
  console.log(rows.join("\n"));
  await hub.kill("SIGTERM");
}

/** Durable ingest: no hub connected, so only ingest is measured; 100 endpoints. */
async function ingestSection(base: string, target: Target, dir: string) {
  const eps = await Promise.all(Array.from({ length: 100 }, (_, i) => createEndpoint(base, `${target.url}/ingest`, { name: `bench-${i}` })));
  const conns = hasWrk ? 128 : 64;
  const directIngest = hasWrk ? await wrkRun(target.url, ["/direct"], conns, 5, dir) : await ingestRun([`${target.url}/direct`], conns, 5, 60_000);
  const ingest = hasWrk
    ? await wrkRun(
        base,
        eps.map((e) => new URL(e.ingestUrl).pathname),
        conns,
        8,
        dir,
      )
    : await ingestRun(
        eps.map((e) => e.ingestUrl),
        conns,
        8,
        100_000,
      );
  console.log(
    `\n## Durable ingest (1 KB bodies, 100 endpoints, ${conns} connections, 2xx only after the WAL fsync; load from ${hasWrk ? "wrk" : "Node — install wrk for a lighter generator"})\n`,
  );
  console.log(`| path | requests | rate/s | ratio |\n|---|---|---|---|`);
  console.log(`| direct POST to target (no storage) | ${directIngest.done} | ${directIngest.rate.toFixed(0)} | 1.00 |`);
  console.log(
    `| edge ingest (SQLite WAL, group commit + fsync) | ${ingest.done} | ${ingest.rate.toFixed(0)} | ${(ingest.rate / directIngest.rate).toFixed(2)} |`,
  );

  // Drain the 100-endpoint backlog with a direct hub, so the ordered runs measure one endpoint alone.
  const before = target.count();
  const drain = spawnApp("hub", hubEnv(new URL(base).port));
  children.push(drain);
  await waitUntil(() => target.count() - before >= ingest.done, 180_000, "backlog drained");
  await drain.kill("SIGTERM");
}

/**
 * One endpoint's throughput, strictly ordered and with a concurrent policy (8 at once, issue #13), without
 * and with 50 ms RTT between hub and edge.
 */
async function orderedSection(base: string, port: number, target: Target) {
  console.log(`\n## One endpoint, ${M} webhooks of 1 KB: strictly ordered (one at a time) and concurrent ×8\n`);
  console.log(`| ordering | hub↔edge RTT | rate/s | stop-and-wait bound |\n|---|---|---|---|`);
  const proxies: { close(): void }[] = [];
  for (const concurrency of [1, 8]) {
    for (const oneWayMs of [0, 25]) {
      const name = `${concurrency === 1 ? "ordered" : "concurrent"}-${oneWayMs}`;
      const ep = await createEndpoint(base, `${target.url}/${name}`, { name });
      if (concurrency > 1) {
        const admin = adminClient(base);
        const { endpoint } = await admin.getEndpoint({ id: ep.id });
        await admin.updateDestination({ id: endpoint!.destinations[0]!.id, policy: { ordering: Ordering.CONCURRENT, concurrency } });
      }
      for (let i = 0; i < M; i += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, k) => post(ep.ingestUrl, `{"tag":"${name}-${i + k}","pad":"${pad}"}`)));
      }
      let edgeUrl = `http://127.0.0.1:${port}`;
      if (oneWayMs > 0) {
        const proxy = await delayProxy(port, oneWayMs);
        proxies.push(proxy);
        edgeUrl = `http://127.0.0.1:${proxy.port}`;
      }
      const hubProc = spawnApp("hub", { ...hubEnv(port), EDGE_URL: edgeUrl });
      children.push(hubProc);
      const tags = Array.from({ length: M }, (_, i) => `${name}-${i}`);
      await waitUntil(() => tags.every((t) => target.arrivals.has(t)), 180_000, name);
      // note: timed from the first arrival to the last (in any order when concurrent), so hub start-up is not counted.
      const times = tags.map((t) => target.arrivals.get(t)!);
      const rate = (M - 1) / ((Math.max(...times) - Math.min(...times)) / 1000);
      console.log(
        `| ${concurrency === 1 ? "strict" : `concurrent ×${concurrency}`} | ${oneWayMs * 2} ms | ${rate.toFixed(0)} | ${oneWayMs ? `${((1000 / (oneWayMs * 2)) * concurrency).toFixed(0)}/s` : "–"} |`,
      );
      await hubProc.kill("SIGTERM");
    }
  }
  for (const p of proxies) p.close();
}

/**
 * Two hubs, each with its own credential; every webhook goes to two destinations, one on each hub.
 * Compared in the same run with a direct POST and with one destination on one hub.
 */
async function fanoutSection(base: string, port: number, edge: Spawned, target: Target) {
  const one = await createHubCredentials(base, "bench-one");
  const two = await createHubCredentials(base, "bench-two");
  const hubs = [one, two].map((c) => {
    const h = spawnApp("hub", { ...hubEnv(port), ...registeredHubEnv(c), LOG_LEVEL: "warn" });
    children.push(h);
    return h;
  });
  await waitUntil(async () => (await adminClient(base).listHubs({})).hubs.filter((h) => h.connected).length >= 2, 20_000, "both bench hubs");
  const admin = adminClient(base);
  const single = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const { endpoint } = await admin.createEndpoint({
        name: `single-${i}`,
        providerType: ProviderType.GENERIC,
        destinations: [{ hubId: one.hubId, url: `${target.url}/fan/single` }],
      });
      return `${base}/h/${endpoint!.id}`;
    }),
  );
  const fan = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const { endpoint } = await admin.createEndpoint({
        name: `fan-${i}`,
        providerType: ProviderType.GENERIC,
        destinations: [
          { hubId: one.hubId, url: `${target.url}/fan/a` },
          { hubId: two.hubId, url: `${target.url}/fan/b` },
        ],
      });
      return `${base}/h/${endpoint!.id}`;
    }),
  );
  const singleArrival = (t: string) => [`${t}@/fan/single`];
  const fanArrivals = (t: string) => [`${t}@/fan/a`, `${t}@/fan/b`];
  await latencyRun("fan-warm-single", single, target, 200, 1, singleArrival);
  await latencyRun("fan-warm", fan, target, 200, 1, fanArrivals);
  const rate = Number(process.env.FANOUT_RATE ?? 200);
  const secs = Number(process.env.SECS ?? 5);
  const pids = [edge.child.pid, hubs[0]!.child.pid, hubs[1]!.child.pid, target.pid, process.pid];
  const d = await withCpu(pids, () => latencyRun(`fan-direct-${rate}`, [`${target.url}/lat`], target, rate, secs));
  const s1 = await withCpu(pids, () => latencyRun(`fan-single-${rate}`, single, target, rate, secs, singleArrival));
  const s2 = await withCpu(pids, () => latencyRun(`fan-two-${rate}`, fan, target, rate, secs, fanArrivals));
  const n = rate * secs;
  const cpu = (c: { cpuMs: number[] }) => c.cpuMs.map((ms) => (ms / n).toFixed(2)).join(" · ");
  console.log(`\n## Fan-out: two hubs, each webhook to two destinations (one per hub), ${rate}/s for ${secs} s, 1 KB\n`);
  console.log("End to end = until the last destination has it. CPU: ms per webhook of edge · hub one · hub two · target · generator.\n");
  console.log("| path | 2xx p50 | 2xx p99 | p50 | p99 | errors | CPU ms/webhook | edge CPU vs one destination |\n|---|---|---|---|---|---|---|---|");
  const row = (label: string, r: typeof d, ratio: string) =>
    console.log(
      `| ${label} | ${fmt(r.result.ack50)} | ${fmt(r.result.ack99)} | ${fmt(r.result.p50)} | ${fmt(r.result.p99)} | ${r.result.errors} | ${cpu(r)} | ${ratio} |`,
    );
  row("direct POST", d, "");
  row("one destination, one hub", s1, "1.00");
  row("two destinations, two hubs", s2, `${(s2.cpuMs[0]! / s1.cpuMs[0]!).toFixed(2)} (target ≤ 1.50)`);

  // Throughput: a burst, timed from the first send until every destination has every webhook.
  const B = Number(process.env.FANOUT_BURST ?? 3000);
  console.log(`\n| burst of ${B} | webhooks/s fully delivered | deliveries/s |\n|---|---|---|`);
  for (const [label, urls, arrivals] of [
    ["one destination", single, singleArrival],
    ["two destinations, two hubs", fan, fanArrivals],
  ] as const) {
    const start = now();
    const tags: string[] = [];
    for (let i = 0; i < B; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, B - i) }, (_, k) => {
          const tag = `burst-${label}-${i + k}`;
          tags.push(tag);
          return post(urls[(i + k) % urls.length]!, `{"tag":"${tag}","pad":"${pad}"}`);
        }),
      );
    }
    await waitUntil(() => tags.every((t) => arrivals(t).every((k) => target.arrivals.has(k))), 180_000, `${label} burst`);
    const last = Math.max(...tags.flatMap((t) => arrivals(t).map((k) => target.arrivals.get(k)!)));
    const perSec = B / ((last - start) / 1000);
    console.log(`| ${label} | ${perSec.toFixed(0)} | ${(perSec * arrivals("x").length).toFixed(0)} |`);
  }
  for (const h of hubs) await h.kill("SIGTERM");
}

/** Median and worst of `runs` timings of `call`, ms, after one warm-up call. */
async function timed(runs: number, call: () => Promise<unknown>): Promise<{ median: number; max: number }> {
  await call();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await call();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { median: percentile(ms, 50), max: ms.at(-1)! };
}

/**
 * The admin API over a large history: 100,000 webhooks over 30 days (test/seed.ts), called through
 * the AdminService in process, so the figures are SQLite plus mapping, without HTTP.
 */
async function adminSection() {
  const ROWS = Number(process.env.ADMIN_ROWS ?? 100_000);
  const RUNS = 20;
  const edge = await buildEdge({ clock: new TestClock(TEST_EPOCH) });
  const t0 = performance.now();
  const history = await seedWebhooks(edge, ROWS);
  const seedMs = performance.now() - t0;
  console.log(`\n## Admin API over ${ROWS.toLocaleString("en")} stored webhooks (seeded in ${seedMs.toFixed(0)} ms), ms: median and worst of ${RUNS}\n`);
  console.log("| call | first page | next page |\n|---|---|---|");
  for (const [name, request] of LIST_CASES) {
    const req = request(history, edge.clock.now());
    const { nextPageToken } = await edge.client.listWebhooks(req);
    const first = await timed(RUNS, () => edge.client.listWebhooks(req));
    const next = await timed(RUNS, () => edge.client.listWebhooks({ ...req, pageToken: nextPageToken }));
    console.log(`| ListWebhooks: ${name} | ${fmt(first.median)} · ${fmt(first.max)} | ${fmt(next.median)} · ${fmt(next.max)} |`);
  }
  const status = await timed(RUNS, () => edge.client.getStatus({}));
  const endpoints = await timed(RUNS, () => edge.client.listEndpoints({}));
  console.log(`| GetStatus | ${fmt(status.median)} · ${fmt(status.max)} | |`);
  console.log(`| ListEndpoints | ${fmt(endpoints.median)} · ${fmt(endpoints.max)} | |`);
  await edge.close();
}

/** Resident and peak resident memory of a process (VmRSS, VmHWM), MiB; NaN where /proc is missing. */
function memoryMiB(pid: number | undefined): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
  } catch {
    return { rss: NaN, peak: NaN };
  }
}

/**
 * Large bodies (#11): start-up to /readyz, idle memory, one 100 MiB webhook
 * relayed (peak RSS of edge and hub, time against a direct POST), and 20
 * concurrent 50 MiB uploads against INGEST_MAX_INFLIGHT_BYTES = 256 MiB.
 */
async function largeSection(target: Target) {
  const { dir, remove } = tempDir("hookly-bench-large-");
  const port = await freePort();
  const t0 = now();
  const edge = spawnApp("edge", { ...edgeEnv(dir, port), INGEST_MAX_INFLIGHT_BYTES: String(256 << 20) });
  children.push(edge);
  const base = `http://127.0.0.1:${port}`;
  let ready = NaN;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) {
      ready = now() - t0;
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const hub = spawnApp("hub", hubEnv(port));
  children.push(hub);
  await edge.waitForLog(/hub connected/, 30_000);
  const ep = await createEndpoint(base, `${target.url}/large`, { name: "large" });
  await new Promise((r) => setTimeout(r, 2_000));
  const justStarted = { edge: memoryMiB(edge.child.pid).rss, hub: memoryMiB(hub.child.pid).rss };
  // note: idle is measured once the edge's checkpoint worker has stopped (10 s without a change) and V8's memory
  // reducer has run (it starts about 8 s after allocation slows down), i.e. as an edge waiting for webhooks sits.
  await new Promise((r) => setTimeout(r, 15_000));
  const idle = { edge: memoryMiB(edge.child.pid).rss, hub: memoryMiB(hub.child.pid).rss };

  const big = Buffer.alloc(100 << 20, "a");
  let started = now();
  const before = target.count();
  expect200(await post(`${target.url}/direct`, big), "direct");
  const direct = now() - started;
  await waitFor(() => target.count() > before, 60_000);
  started = now();
  expect200(await post(ep.ingestUrl, big), "ingest", 202);
  const acked = now() - started;
  const arrivedBefore = target.count();
  await waitFor(() => target.count() > arrivedBefore, 120_000);
  const relayed = now() - started;
  const oneBig = { edge: memoryMiB(edge.child.pid).peak, hub: memoryMiB(hub.child.pid).peak };

  // 20 concurrent 50 MiB uploads: each is stored (202) or refused (503, the provider retries); none is lost.
  const fifty = big.subarray(0, 50 << 20);
  const statuses = await Promise.all(Array.from({ length: 20 }, () => post(ep.ingestUrl, fifty).catch(() => 0)));
  const stored = statuses.filter((s) => s === 202).length;
  const refused = statuses.filter((s) => s === 503).length;
  const concurrentPeak = memoryMiB(edge.child.pid).peak;
  const deliveredBefore = target.count();
  await waitFor(() => target.count() >= deliveredBefore + stored || false, 300_000).catch(() => undefined);

  console.log("\n### Large bodies\n");
  console.log("| measure | edge | hub | direct |\n|---|---|---|---|");
  console.log(`| start-up to /readyz, ms | ${fmt(ready)} | | |`);
  console.log(`| RSS 2 s after start, MiB | ${fmt(justStarted.edge)} | ${fmt(justStarted.hub)} | |`);
  console.log(`| idle RSS (17 s without traffic), MiB | ${fmt(idle.edge)} | ${fmt(idle.hub)} | |`);
  console.log(`| 100 MiB webhook: peak RSS, MiB | ${fmt(oneBig.edge)} | ${fmt(oneBig.hub)} | |`);
  console.log(`| 100 MiB webhook: 202 after / arrival after, ms | ${fmt(acked)} / ${fmt(relayed)} | | ${fmt(direct)} |`);
  console.log(`| 20 × 50 MiB at once (cap 256 MiB): stored / 503 / other | ${stored} / ${refused} / ${20 - stored - refused} | | |`);
  console.log(`| … edge peak RSS, MiB | ${fmt(concurrentPeak)} | | |`);
  await hub.kill("SIGTERM");
  await edge.kill("SIGTERM");
  remove();
}

function expect200(status: number, what: string, want = 200): void {
  if (status !== want) throw new Error(`${what}: HTTP ${status}, expected ${want}`);
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms`);
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(err);
    await cleanup();
    process.exit(1);
  },
);
