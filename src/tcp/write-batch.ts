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
      pending.push(this);
      if (pending.length === 1) setImmediate(flushAll);
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

let pending: WriteBatch[] = [];

function flushAll(): void {
  const list = pending;
  pending = [];
  for (const batch of list) batch.flush();
}
