import { connect, createServer, type Socket } from 'node:net';

export interface DroppableProxy {
  url: string;
  port: number;
  /** Cuts every open connection at once, as a dropped Wi-Fi or a restarted load balancer would. */
  dropConnections(): void;
  close(): Promise<void>;
}

/**
 * A TCP relay in front of the server. Browsers' offline emulation leaves established streams alone, so a
 * real network drop (both ends see their connection die mid-stream) needs the connections in hand.
 */
export function startDroppableProxy(targetPort: number): Promise<DroppableProxy> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        dropConnections() {
          for (const socket of open) socket.destroy();
        },
        close: () =>
          new Promise((done) => {
            for (const socket of open) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
