/**
 * A client for echo-main.js, run inside a pod (so names and ClusterIPs resolve as the pod
 * sees them): `node tcp-client-main.js HOST PORT BYTES SEED COUNT`. Opens COUNT
 * connections one after another; on each reads the pod's name line, sends BYTES of the
 * payload (payload.ts, seed SEED + i), sends FIN and reads the echo to its end. Prints one
 * JSON line per connection: the pod that answered and both hashes, or the error code.
 */
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { payloadAt } from '../helpers/payload.js';
import type { ClientOutcome as Outcome } from './echo-log.js';

const [host = '', port = '0', bytes = '0', seed = '1', count = '1'] = process.argv.slice(2);

function once(index: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port), allowHalfOpen: true });
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let head = Buffer.alloc(0);
    let pod: string | undefined;
    let got = 0;
    let total = 0;
    socket.once('error', (err: NodeJS.ErrnoException) =>
      resolve({ error: err.code ?? err.message }),
    );
    socket.on('data', (chunk: Buffer) => {
      if (pod === undefined) {
        head = Buffer.concat([head, chunk]);
        const newline = head.indexOf(10);
        if (newline < 0) return;
        pod = head.subarray(0, newline).toString();
        chunk = head.subarray(newline + 1);
      }
      received.update(chunk);
      got += chunk.length;
    });
    socket.once('end', () => {
      socket.end();
      resolve({
        pod,
        sent: total,
        sentSha256: sent.digest('hex'),
        received: got,
        receivedSha256: received.digest('hex'),
      });
    });
    socket.once('connect', async () => {
      const size = Number(bytes);
      while (total < size) {
        const chunk = payloadAt(Number(seed) + index, total, size - total);
        sent.update(chunk);
        total += chunk.length;
        if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
      }
      socket.end();
    });
  });
}

for (let i = 0; i < Number(count); i++) {
  process.stdout.write(`${JSON.stringify({ i, ...(await once(i)) })}\n`);
}
