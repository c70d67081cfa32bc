/**
 * Starts a fake's server on 127.0.0.1, port 0, and keeps its open sockets, so
 * the fake can destroy what is left when it closes.
 */
import type { Server } from "node:net";
import type { Socket } from "node:net";

/** The port a fake listens on, and its open sockets. */
export interface Listening {
  port: number;
  url: string;
  sockets: Set<Socket>;
}

/** Listens on 127.0.0.1:0 (rejecting on a listen error) and tracks every connection's socket until it closes. */
export async function listenLocal(server: Server): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as { port: number };
  return { port, url: `http://127.0.0.1:${port}`, sockets };
}
