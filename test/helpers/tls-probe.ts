import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';

/** A link credential as the dialling site stores it (see the state dir layout in DESIGN.md). */
export interface LinkCredential {
  /** The dialling site's client certificate for the link. */
  certPem: string;
  /** Its private key. */
  keyPem: string;
  /** The issuer's CA certificate. */
  caPem: string;
}

/** Reads `<stateDir>/links/<name>.json` (certPem, caPem) and `<stateDir>/secrets/link-<name>.pem`. */
export async function readLinkCredential(stateDir: string, name: string): Promise<LinkCredential> {
  const record = JSON.parse(await readFile(join(stateDir, 'links', `${name}.json`), 'utf8')) as {
    certPem?: unknown;
    caPem?: unknown;
  };
  if (typeof record.certPem !== 'string' || typeof record.caPem !== 'string') {
    throw new Error(`links/${name}.json has no certPem/caPem strings`);
  }
  const keyPem = await readFile(join(stateDir, 'secrets', `link-${name}.pem`), 'utf8');
  return { certPem: record.certPem, keyPem, caPem: record.caPem };
}

export interface ProbeResult {
  /** The client finished its side of the TLS handshake (in TLS 1.3 the server may still refuse after). */
  secureConnected: boolean;
  /** Everything the server sent back (an HTTP response, if it accepted the upgrade request). */
  response: Buffer;
  /** The error the connection ended with, if any (e.g. a TLS alert or ECONNRESET). */
  error: string | undefined;
  /** True if the server neither answered nor closed within the timeout. */
  timedOut: boolean;
  /** The probe's own port, to find the server's log line about this connection (`remote`). */
  localPort: number | undefined;
}

/**
 * Dials the link endpoint by hand with a given client certificate, verifying the server
 * against the pinned CA (chain only: the probe is about the server's view of the client), and
 * sends the WebSocket upgrade request a link would send. Settles once the server has sent a
 * complete HTTP response head, or closed the connection, or after `timeoutMs`.
 */
export function probeLink(
  port: number,
  credential: LinkCredential,
  timeoutMs = 10_000,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const result: ProbeResult = {
      secureConnected: false,
      response: Buffer.alloc(0),
      error: undefined,
      timedOut: false,
      localPort: undefined,
    };
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      cert: credential.certPem,
      key: credential.keyPem,
      ca: credential.caPem,
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
    });
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      result.response = Buffer.concat(chunks);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => {
      result.timedOut = true;
      finish();
    }, timeoutMs);
    socket.once('connect', () => {
      result.localPort ??= socket.localPort;
    });
    socket.once('secureConnect', () => {
      result.localPort ??= socket.localPort;
      result.secureConnected = true;
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET /v1/link HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).includes('\r\n\r\n')) finish();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      result.error ??= err.code ? `${err.code}: ${err.message}` : err.message;
    });
    socket.once('close', finish);
  });
}
