import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The kernel's ephemeral range, from which it picks the local port of every outgoing
 * connection and of every `listen(0)`. A port a test hands to a router (a link port, a
 * listener port: they are written into tokens and records, so the router cannot simply bind
 * port 0) must lie outside it, or a client socket of an earlier test may hold it by the
 * time the router binds (seen: a listener refused in a long run after 1,100 connections).
 */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux: assume the IANA range
  }
  return [49152, 65535];
}

const [EPHEMERAL_LOW, EPHEMERAL_HIGH] = ephemeralRange();
/** Ports below the ephemeral range (and above the well-known and registered busy ones). */
const POOL_LOW = 20_000;
const POOL_HIGH = EPHEMERAL_LOW > POOL_LOW + 1000 ? EPHEMERAL_LOW - 1 : 29_999;
/** Ports this test process handed out: never twice, so two routers never get one port. */
const handedOut = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 for a router to bind: outside the ephemeral range (so no client
 * socket takes it meanwhile), not handed out before by this process, and bindable now.
 * Another program could still bind it first; the routers then fail with EADDRINUSE, loudly.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = POOL_LOW + Math.floor(Math.random() * (POOL_HIGH - POOL_LOW + 1));
    if (port >= EPHEMERAL_LOW && port <= EPHEMERAL_HIGH) continue;
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canBind(port)) return port;
  }
  throw new Error(`no bindable port in ${POOL_LOW}-${POOL_HIGH} after 1000 tries`);
}
