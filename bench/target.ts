/**
 * The LAN target of `npm run bench`, in its own process so that its response
 * times are not those of the load generator's event loop. Reports each
 * webhook's arrival (by body tag, wall-clock ms with sub-ms precision) to the
 * parent over IPC, in batches.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

const now = () => performance.timeOrigin + performance.now();
let pending: [string, number][] = [];
let count = 0;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const at = now();
    const tag = /"tag":"([^"]+)"/.exec(Buffer.concat(chunks).toString())?.[1];
    // note: a fan-out's destinations (/fan/…) each get the same body; their arrivals are told apart by path.
    const path = (req.url ?? "").split("?")[0]!;
    if (tag) pending.push([path.startsWith("/fan/") ? `${tag}@${path}` : tag, at]);
    count++;
    res.writeHead(200).end("ok");
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => {
  process.send!({ port: (server.address() as AddressInfo).port });
});
setInterval(() => {
  if (pending.length === 0 && !count) return;
  process.send!({ arrivals: pending, count });
  pending = [];
}, 20);
process.on("disconnect", () => process.exit(0));
