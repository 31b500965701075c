/** A pod (or a Service's endpoint) that may take a stream, at the port to dial. */
export interface Endpoint {
  /** The pod's name (an endpoint without a pod: its address). */
  name: string;
  ip: string;
  port: number;
}

/**
 * Open streams per endpoint, for the choice rule of decision 0022: a new stream goes to the
 * ready endpoint with the fewest open streams, the first by name among equals. A stream
 * counts from the moment it is chosen (so dials in flight spread too) until released.
 * Only endpoints with open streams are kept, so the map is bounded by the streams.
 */
export class StreamBalance {
  private readonly open = new Map<string, number>();

  /** The endpoints, best first. */
  order(endpoints: readonly Endpoint[]): Endpoint[] {
    return [...endpoints].sort(
      (a, b) => this.count(a) - this.count(b) || compare(a.name, b.name) || compare(key(a), key(b)),
    );
  }

  /** Counts one stream to `endpoint`; the result ends it (once, however often called). */
  lease(endpoint: Endpoint): () => void {
    const k = key(endpoint);
    this.open.set(k, (this.open.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(k) ?? 1) - 1;
      if (left > 0) this.open.set(k, left);
      else this.open.delete(k);
    };
  }

  count(endpoint: Endpoint): number {
    return this.open.get(key(endpoint)) ?? 0;
  }

  /** Endpoints with open streams (for tests: nothing is left behind). */
  get size(): number {
    return this.open.size;
  }
}

const key = (e: Endpoint): string => `${e.ip}:${e.port}`;
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
