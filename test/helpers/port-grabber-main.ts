/**
 * Another process that takes ports, as a busy machine's programs do: `node
 * port-grabber-main.js LOW HIGH`. Reads JSON lines on stdin: {"grab":P} listens on
 * 127.0.0.1:P and answers {"held":P} (or {"failed":P,"code":...}), holding it until exit;
 * {"churn":{"perSecond":N,"holdMs":M}} from then on takes N random ports of LOW-HIGH a
 * second, each for M ms. Exits when stdin ends, after {"churned":count} on stdout.
 */
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';

const [low, high] = process.argv.slice(2).map(Number) as [number, number];
const held: Server[] = [];
let churned = 0;
let churnTimer: NodeJS.Timeout | undefined;

const say = (message: object): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`);
};

function take(port: number): Promise<Server | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(server));
  });
}

function churn(perSecond: number, holdMs: number): void {
  clearInterval(churnTimer);
  const everyMs = 10;
  const perTick = perSecond / (1000 / everyMs);
  let due = 0;
  churnTimer = setInterval(() => {
    for (due += perTick; due >= 1; due--) {
      const port = low + Math.floor(Math.random() * (high - low + 1));
      void take(port).then((server) => {
        if (server instanceof Error) return;
        churned++;
        setTimeout(() => server.close(), holdMs);
      });
    }
  }, everyMs);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const request = JSON.parse(line) as {
    grab?: number;
    churn?: { perSecond: number; holdMs: number };
  };
  if (request.grab !== undefined) {
    const port = request.grab;
    void take(port).then((server) => {
      if (server instanceof Error) say({ failed: port, code: server.code });
      else {
        held.push(server);
        say({ held: port });
      }
    });
  }
  if (request.churn) churn(request.churn.perSecond, request.churn.holdMs);
});
lines.once('close', () => {
  clearInterval(churnTimer);
  say({ churned });
  process.exit(0);
});
