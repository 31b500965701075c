import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports for servers that cannot simply bind port 0 and report theirs: a router's link port
 * and its listeners (a link port is written into tokens and records before the router runs;
 * a listener's port is what the user chose) and programs that do not report a chosen port.
 * A picked port is a candidate, not a reservation: any process on the machine may bind it
 * between the pick and the use. So every such use goes through withFreePort(), which tries
 * another port when the first was taken. Servers of the tests' own bind port 0, unless the
 * test needs them on a port chosen before (a blocker of a router's port, a target named
 * before it listens): those bind through bindOwn() in withFreePort().
 */

/**
 * The kernel's ephemeral range, from which it picks the local port of every outgoing
 * connection and of every `listen(0)`. Picked ports lie outside it, so a client socket of
 * an earlier test cannot hold one (seen: a listener refused in a long run after 1,100
 * connections), and a router restarted on its port does not find it taken by one.
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
/** The range picks come from (for the race tests' grabber). */
export const PORT_POOL = { low: POOL_LOW, high: POOL_HIGH } as const;
/** Ports this test process picked: never twice, so two routers never get one port. */
const picked = new Set<number>();

/**
 * How many ports withFreePort() tries by default. Each was bindable a moment before its
 * use, so a second one taken is already rare; ten in a row means something grabs every port.
 */
export const PORT_ATTEMPTS = 10;
let defaultAttempts = PORT_ATTEMPTS;

/** Changes withFreePort()'s default: the race stress script's --attempts 1 is the old helper. */
export function setPortAttempts(attempts: number): void {
  defaultAttempts = attempts;
}

/** Thrown by a withFreePort() callback when its port turned out to be in use. */
export class PortTaken extends Error {
  constructor(
    readonly port: number,
    detail: string,
  ) {
    super(`port ${port} was taken before use: ${detail}`);
    this.name = 'PortTaken';
  }
}

/** Whether `text` (a CLI's or a router's stderr, a listener's error) is skiff refusing `port` as in use (src/tcp/listen.ts). */
export function saysPortInUse(text: string, port: number): boolean {
  return new RegExp(`\\bport ${port} on \\S+ is already in use\\b`).test(text);
}

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

type PickHook = (port: number) => Promise<void>;
let afterPick: PickHook | undefined;

/**
 * Runs `hook` after each pick, before the port is handed out: the race tests take the
 * port there from another process, as a program on a busy machine may. undefined removes it.
 */
export function setPickHook(hook: PickHook | undefined): void {
  afterPick = hook;
}

/**
 * A candidate TCP port on 127.0.0.1: outside the ephemeral range, not picked before by this
 * process, and bindable when checked. Use it through withFreePort() unless nothing binds
 * it (a port that should refuse, a port for a command that fails before binding) or it is
 * bound in a network namespace of the test's own, where no other process runs.
 */
export async function pickPort(): Promise<number> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = POOL_LOW + Math.floor(Math.random() * (POOL_HIGH - POOL_LOW + 1));
    if (port >= EPHEMERAL_LOW && port <= EPHEMERAL_HIGH) continue;
    if (picked.has(port)) continue;
    picked.add(port);
    if (!(await canBind(port))) continue;
    await afterPick?.(port);
    return port;
  }
  throw new Error(`no bindable port in ${POOL_LOW}-${POOL_HIGH} after 1000 tries`);
}

/**
 * Runs `use` with a picked port (`first`, when one was picked earlier, e.g. written into a
 * site at its creation); when it throws PortTaken (someone else bound the port after the
 * pick), runs it again with another, up to `attempts` ports. Any other error ends it.
 * `use` must leave nothing behind when it throws PortTaken.
 */
export async function withFreePort<T>(
  use: (port: number) => Promise<T>,
  { attempts = defaultAttempts, first }: { attempts?: number; first?: number } = {},
): Promise<T> {
  const taken: number[] = [];
  for (;;) {
    const port = taken.length === 0 && first !== undefined ? first : await pickPort();
    try {
      return await use(port);
    } catch (err) {
      if (!(err instanceof PortTaken)) throw err;
      taken.push(port);
      if (taken.length >= attempts) {
        throw new Error(`ports ${taken.join(', ')} were each taken between pick and use`, {
          cause: err,
        });
      }
    }
  }
}

/**
 * Runs `bind`, which binds a server of the test's own on `port`; its EADDRINUSE (someone
 * bound the port since the pick) becomes PortTaken, for withFreePort() to try another.
 */
export async function bindOwn<T>(port: number, bind: () => Promise<T>): Promise<T> {
  try {
    return await bind();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new PortTaken(port, (err as Error).message);
    }
    throw err;
  }
}
