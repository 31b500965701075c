import type { Socket } from 'node:net';

/**
 * Joins the writes a socket gets in one event-loop turn into one writev. The link hands
 * received data on as views of its 16 KiB TLS reads, so one busy turn can bring a stream
 * dozens of pieces; written one by one they would cost a syscall each. The first write of
 * a turn goes out at once (a lone request/response message is not delayed); later ones in
 * the same turn are corked and leave together when the turn's immediates run.
 */
export class WriteBatch {
  private active = false;
  private corked = false;

  constructor(private readonly socket: Socket) {}

  write(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (!this.active) {
      this.active = true;
      if (pendingCount === 0) setImmediate(flushAll);
      pending[pendingCount++] = this;
    } else if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
    this.socket.write(chunk, cb);
  }

  /** Ends the turn: corked writes go out. */
  flush(): void {
    this.active = false;
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
  }
}

/**
 * Batches active this turn, pending[0..pendingCount). Two arrays take turns and keep their
 * length, so scheduling a batch allocates nothing (a fresh array per turn did).
 */
let pending: (WriteBatch | undefined)[] = [];
let pendingCount = 0;
let spare: (WriteBatch | undefined)[] = [];

function flushAll(): void {
  const list = pending;
  const n = pendingCount;
  pending = spare;
  pendingCount = 0;
  spare = list;
  for (let i = 0; i < n; i++) {
    const batch = list[i]!;
    list[i] = undefined;
    batch.flush();
  }
}
