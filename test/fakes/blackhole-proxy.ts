/**
 * A TCP proxy on 127.0.0.1 that can freeze: while frozen it keeps every
 * connection open but relays nothing, like a NAT that silently dropped the
 * flow (a half-open connection). New connections after thaw() relay normally.
 */
import net from "node:net";

/** A running proxy. */
export interface BlackholeProxy {
  port: number;
  /** Stops relaying on existing connections (they stay open). */
  freeze(): void;
  /** New connections relay again; frozen ones stay dead. */
  thaw(): void;
  close(): Promise<void>;
}

/** Starts a proxy to 127.0.0.1:`targetPort`. */
export async function startBlackholeProxy(targetPort: number): Promise<BlackholeProxy> {
  const sockets = new Set<net.Socket>();
  let frozenGeneration = -1;
  let generation = 0;
  const server = net.createServer((client) => {
    const mine = generation;
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    const relay = (from: net.Socket, to: net.Socket) =>
      from.on("data", (d) => {
        if (frozenGeneration < mine) to.write(d);
      });
    relay(client, upstream);
    relay(upstream, client);
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze() {
      frozenGeneration = generation;
      generation += 1;
    },
    thaw() {
      // note: generations above frozenGeneration relay; nothing else to do.
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
