/**
 * Admin API calls by method and gRPC status name. Both come from fixed sets (the service's
 * methods, gRPC's codes), so the counts stay bounded whatever a caller sends.
 */
export class CallCounts {
  private readonly counts = new Map<string, { method: string; code: string; count: number }>();

  count(method: string, code: string): void {
    const key = `${method} ${code}`;
    const entry = this.counts.get(key);
    if (entry) entry.count++;
    else this.counts.set(key, { method, code, count: 1 });
  }

  entries(): Iterable<{ readonly method: string; readonly code: string; readonly count: number }> {
    return this.counts.values();
  }
}
