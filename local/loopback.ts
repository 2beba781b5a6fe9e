/**
 * Listens on 127.0.0.1 on a free port, as every local stand-in does: idle connections are closed
 * by the client only (keepAliveTimeout 0, as the gateway and the Flatfile stand-in), and close()
 * drops open connections first so a test's teardown never waits on one.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export async function listenOnLoopback(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
