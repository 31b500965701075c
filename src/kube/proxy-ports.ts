import type { Socket } from 'node:net';
import { ErrorCode, isSkiffError, SkiffError } from '../errors.js';
import { TcpListener } from '../tcp/listener.js';

/** The router ports proxy Services point at: unprivileged, below Linux's ephemeral range. */
export const PROXY_PORT_FIRST = 20_000;
export const PROXY_PORT_COUNT = 4096;

interface Bound {
  address: string;
  port: number;
  tcp: TcpListener;
}

/**
 * The router's side of the proxy Services: one TCP listener per address and Service port,
 * on a router port of its own (a pod cannot bind port 80 without a capability, and two
 * addresses may both use 80). A port asked for by number (what an adopted Service already
 * points at) is kept when it binds; otherwise the next free one in the range is taken.
 */
export class ProxyPorts {
  private readonly byKey = new Map<string, Bound>();
  private readonly used = new Set<number>();
  private accepting = true;

  constructor(
    private readonly host: string,
    private readonly onConnection: (address: string, socket: Socket) => void,
    private readonly range = { first: PROXY_PORT_FIRST, count: PROXY_PORT_COUNT },
  ) {}

  /** The router port for `address`'s Service `port`, bound; `preferred` first if given and free. */
  async ensure(address: string, port: number, preferred?: number): Promise<number> {
    const known = this.byKey.get(key(address, port));
    if (known !== undefined) return known.tcp.port;
    const { first, count } = this.range;
    const candidates: number[] = [];
    if (preferred !== undefined && preferred >= first && preferred < first + count) {
      candidates.push(preferred);
    }
    for (let p = first; p < first + count; p++) candidates.push(p);
    for (const candidate of candidates) {
      if (this.used.has(candidate)) continue;
      const tcp = new TcpListener(this.host, candidate, (socket) =>
        this.onConnection(address, socket),
      );
      try {
        await tcp.listen();
      } catch (err) {
        if (isSkiffError(err, ErrorCode.PORT_IN_USE)) continue;
        throw err;
      }
      if (!this.accepting) tcp.stopAccepting();
      this.used.add(candidate);
      this.byKey.set(key(address, port), { address, port, tcp });
      return candidate;
    }
    throw new SkiffError(
      ErrorCode.LIMIT,
      `no free router port for address ${address} port ${port}: ports ${first}-${first + count - 1} are all in use`,
    );
  }

  /** Closes the address's listeners for Service ports not in `keep` (all without it). */
  async release(address: string, keep: ReadonlySet<number> = new Set()): Promise<void> {
    for (const [k, bound] of this.byKey) {
      if (bound.address !== address || keep.has(bound.port)) continue;
      this.byKey.delete(k);
      this.used.delete(bound.tcp.port);
      await bound.tcp.close();
    }
  }

  /** Addresses that have a listener now. */
  addresses(): Set<string> {
    return new Set([...this.byKey.values()].map((b) => b.address));
  }

  get activeClients(): number {
    let n = 0;
    for (const { tcp } of this.byKey.values()) n += tcp.connections.size;
    return n;
  }

  stopAccepting(): void {
    this.accepting = false;
    for (const { tcp } of this.byKey.values()) tcp.stopAccepting();
  }

  async close(): Promise<void> {
    const all = [...this.byKey.values()];
    this.byKey.clear();
    this.used.clear();
    await Promise.all(all.map(({ tcp }) => tcp.close()));
  }
}

function key(address: string, port: number): string {
  return `${address}\n${port}`;
}
