// Free TCP ports on the loopback interface, for clusters that must never collide with one already
// running (the tests, the bench). Shared by scripts and tests; tests may import scripts/lib, never
// the reverse.

import net from 'node:net';

// Asks the OS for n distinct free ports: all are held open together, so none repeats, then freed.
// Another process could take one in the moment before our service binds it; on a test or bench
// machine that race is rare enough that a failed start, not a retry loop, is the right answer.
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, host, () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

// True when nothing listens on `port` at `host` now (a later bind may still lose a race).
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}
