/**
 * The kubelet's prober, run in the cluster's network namespace (the node's side of the
 * bridge, where a kubelet probes pods from). Reads one JSON request per line on stdin and
 * answers one JSON line per request on stdout, in any order (each carries its id):
 *   {"id":1,"kind":"http","host":"10.244.0.2","port":8080,"path":"/ready","scheme":"HTTP","timeoutMs":1000}
 *   {"id":2,"kind":"tcp","host":"10.244.0.2","port":8080,"timeoutMs":1000}
 *   -> {"id":1,"ok":true,"detail":"HTTP 200"}
 * As a kubelet judges: HTTP succeeds on a status from 200 to 399 (HTTPS without verifying
 * the certificate), TCP once the connection is made.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

interface ProbeRequest {
  id: number;
  kind: 'http' | 'tcp';
  host: string;
  port: number;
  path?: string;
  scheme?: 'HTTP' | 'HTTPS';
  headers?: Record<string, string>;
  timeoutMs: number;
}

type Answer = { ok: boolean; detail: string };

function httpProbe(req: ProbeRequest): Promise<Answer> {
  return new Promise((resolve) => {
    const options = {
      host: req.host,
      port: req.port,
      path: req.path ?? '/',
      headers: { 'User-Agent': 'kube-probe/skiff-test', ...req.headers },
      timeout: req.timeoutMs,
      agent: false as const,
    };
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 400, detail: `HTTP ${status}` });
    };
    const client =
      req.scheme === 'HTTPS'
        ? httpsRequest({ ...options, rejectUnauthorized: false }, onResponse)
        : httpRequest(options, onResponse);
    client.on('timeout', () => client.destroy(new Error(`timeout after ${req.timeoutMs} ms`)));
    client.on('error', (err) => resolve({ ok: false, detail: err.message }));
    client.end();
  });
}

function tcpProbe(req: ProbeRequest): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect({ host: req.host, port: req.port, timeout: req.timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, detail: 'connected' });
    });
    socket.once('timeout', () => socket.destroy(new Error(`timeout after ${req.timeoutMs} ms`)));
    socket.once('error', (err) => resolve({ ok: false, detail: err.message }));
  });
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line) as ProbeRequest;
  void (req.kind === 'http' ? httpProbe(req) : tcpProbe(req)).then((answer) => {
    process.stdout.write(`${JSON.stringify({ id: req.id, ...answer })}\n`);
  });
});
process.stdin.once('end', () => process.exit(0));
process.stdout.write('ready\n');
