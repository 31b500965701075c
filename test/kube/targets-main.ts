/**
 * KubeTargets (src/kube/targets.ts) in a process of its own, run in the test cluster's
 * network namespace (Cluster.wrapper), where the API server and the pods' addresses are
 * reachable as they are from a router pod: `node targets-main.js SOCKET`, with KUBECONFIG
 * naming the router's ServiceAccount token. The test drives it over the unix socket
 * SOCKET (target-driver.ts), one request per connection, a JSON line:
 *   {"op":"dial","connector":{...},"timeoutMs":N}  -> {"ok":true} and then the stream's
 *       bytes both ways, spliced to the chosen pod as a router splices a stream; or
 *       {"error":MESSAGE,"code":SKIFF_ERR_...} and the end
 *   {"op":"connectors","connectors":[...]}  -> {"followed":[TARGET...]}
 *   {"op":"readiness","connector":{...}}    -> {"readiness":{ready,total}|{error}|null,"openEndpoints":N}
 * Prints {"listening":SOCKET} on stdout once it accepts; logs (pino JSON) go to stderr.
 */
import { createServer, type Socket } from 'node:net';
import { describe, isSkiffError } from '../../src/errors.js';
import { connectKube } from '../../src/kube/connect.js';
import { KubeTargets } from '../../src/kube/targets.js';
import { createLogger } from '../../src/log.js';
import type { ConnectorRecord } from '../../src/site/records.js';
import { splice } from '../../src/tcp/dial.js';

const [socketPath = ''] = process.argv.slice(2);
const logger = createLogger('info', { format: 'json' });
const targets = new KubeTargets(connectKube(), logger);

type Request =
  | { op: 'dial'; connector: ConnectorRecord; timeoutMs: number }
  | { op: 'connectors'; connectors: ConnectorRecord[] }
  | { op: 'readiness'; connector: ConnectorRecord };

/** The first line a client sends, and whatever came after it in the same chunk. */
function firstLine(socket: Socket): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const newline = head.indexOf(10);
      if (newline < 0) return;
      socket.off('data', onData);
      socket.pause();
      resolve({ line: head.subarray(0, newline).toString(), rest: head.subarray(newline + 1) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

const reply = (socket: Socket, value: unknown) => socket.write(`${JSON.stringify(value)}\n`);

async function serve(client: Socket): Promise<void> {
  const { line, rest } = await firstLine(client);
  const request = JSON.parse(line) as Request;
  switch (request.op) {
    case 'dial': {
      try {
        const upstream = await targets.dial(request.connector, request.timeoutMs);
        reply(client, { ok: true });
        if (rest.length > 0) client.unshift(rest);
        splice(client, upstream);
      } catch (err) {
        const code = isSkiffError(err) ? err.code : undefined;
        reply(client, { error: describe(err), code });
        client.end();
      }
      return;
    }
    case 'connectors':
      targets.setConnectors(request.connectors);
      reply(client, { followed: targets.followed });
      client.end();
      return;
    case 'readiness':
      reply(client, {
        readiness: targets.readiness(request.connector) ?? null,
        openEndpoints: targets.openEndpoints,
      });
      client.end();
      return;
  }
}

const server = createServer({ allowHalfOpen: true }, (client) => {
  client.on('error', () => undefined);
  serve(client).catch((err: unknown) => {
    logger.error({ err: describe(err) }, 'driver request failed');
    client.destroy();
  });
});

process.on('SIGTERM', () => {
  targets.stop();
  server.close();
  process.exit(0);
});

server.listen(socketPath, () => {
  process.stdout.write(`${JSON.stringify({ listening: socketPath })}\n`);
});
