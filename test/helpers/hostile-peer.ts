import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { createConnection } from 'node:net';
import { type ConnectionOptions, connect, type TLSSocket } from 'node:tls';
import { WebSocket } from 'ws';
import { linkTlsOptions } from '../../src/link/client.js';
import { PROTOCOL_VERSION } from '../../src/link/connection.js';
import {
  maxLinkMessage,
  WsLinkSocket,
  wsClientOptions,
} from '../../src/link/websocket/ws-socket.js';
import { createCa, createCsr, generateKey, siteIdOfCert } from '../../src/pki/index.js';
import { FrameDecoder } from '../../src/protocol/decode.js';
import { encodeControl } from '../../src/protocol/encode.js';
import { FrameType } from '../../src/protocol/frame.js';
import { proveRedemption } from '../../src/token/proof.js';
import { redeemToken } from '../../src/token/redeem-client.js';
import { parseToken } from '../../src/token/token.js';
import { createToken } from './pair.js';
import type { RouterProcess } from './router.js';

/** A frame the victim sent to the hostile peer. */
export interface ReceivedFrame {
  type: number;
  streamId: number;
  payload: Buffer;
}

/** WebSocket opcodes of the frames a test writes by hand (RFC 6455 5.2). */
export const Opcode = { CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/**
 * One FIN frame as a dialler sends it (masked, all-zero key: the payload goes as it is),
 * written by hand so a test can send what no WebSocket library would.
 */
export function encodeWsFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = Buffer.alloc(head + 4 + n);
  frame[0] = 0x80 | opcode;
  if (n < 126) frame[1] = 0x80 | n;
  else if (n < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(frame, head + 4);
  return frame;
}

export interface HostileIdentity {
  /**
   * Ignored by redeemCredential: a site id is derived from the site's CA key, so the
   * credential's identity carries the id the helper's own CA proves. A HELLO may still
   * claim any id (`hello({siteId})`), which is the attack the victim must refuse.
   */
  siteId?: string;
  siteName: string;
}

/** A redeemed credential for `victim`: what a site that holds a valid token gets. */
export interface Credential {
  url: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** The site the credential was issued to: the helper's own CA's id. */
  identity: { siteId: string; siteName: string };
  /** The helper's site CA: signs adverts that the victim should accept as this site's. */
  siteCa: { certPem: string; keyPem: string };
}

/**
 * Redeems a fresh token of `victim` as a site of its own would: a site CA of its own (which
 * derives its site id), a real CSR, the proof of its id and a real redemption over the
 * victim's link port. What a hostile site can do after that is what any holder of one
 * valid token can do.
 */
export async function redeemCredential(
  victim: RouterProcess,
  workDir: string,
  identity: HostileIdentity,
): Promise<Credential> {
  const tokenText = await readFile(await createToken(victim, workDir), 'utf8');
  const token = parseToken(tokenText);
  const [siteCa, keyPem] = await Promise.all([
    createCa(`skiff site CA ${identity.siteName}`),
    generateKey(),
  ]);
  const siteId = siteIdOfCert(siteCa.certPem);
  const csrPem = createCsr(keyPem, siteId);
  const proof = proveRedemption(siteCa.keyPem, { tokenId: token.id, csrPem, siteId });
  const issued = await redeemToken(
    token,
    tokenText,
    {
      csrPem,
      siteId,
      siteName: identity.siteName,
      linkName: identity.siteName,
      siteCaPem: siteCa.certPem,
      proof,
    },
    { timeoutMs: 10_000 },
  );
  return {
    url: issued.url,
    caPem: issued.caPem,
    certPem: issued.certPem,
    keyPem,
    identity: { siteId, siteName: identity.siteName },
    siteCa,
  };
}

/**
 * A linked peer that speaks docs/protocol.md by hand: it dials with a real credential and
 * then sends whatever a test tells it to, frame by frame or as raw WebSocket bytes. What the
 * victim sends back is decoded and kept (`frames`) until the test stops reading
 * (`stopReading`), which makes the victim's writes back up, as a peer that never reads would.
 */
export class HostilePeer {
  readonly frames: ReceivedFrame[] = [];
  private readonly decoder = new FrameDecoder(16 * 1024 * 1024, (type, _flags, streamId, p) => {
    if (!this.keepFrames) return;
    const frame = { type, streamId, payload: Buffer.from(p) };
    this.frames.push(frame);
    for (const waiter of this.waiters) if (waiter(frame)) this.waiters.delete(waiter);
  });
  private readonly waiters = new Set<(f: ReceivedFrame) => boolean>();
  private keepFrames = true;
  closed: Promise<{ code: number; reason: string }>;

  private constructor(
    /** The link's WebSocket, for whole binary messages. */
    readonly socket: WsLinkSocket,
    /** The TLS socket under it, for raw WebSocket frames (pings, broken frames). */
    readonly tls: TLSSocket,
  ) {
    this.closed = new Promise((resolve) => {
      socket.onClose = (code, reason) => resolve({ code, reason });
    });
    socket.onMessage = (buf, start, end, last) => {
      this.decoder.push(buf, start, end);
      if (last) this.decoder.endMessage();
    };
  }

  static async dial(cred: Credential): Promise<HostilePeer> {
    let tls: TLSSocket | undefined;
    const ws = new WebSocket(cred.url, {
      ca: cred.caPem,
      cert: cred.certPem,
      key: cred.keyPem,
      ...linkTlsOptions,
      ...wsClientOptions(maxLinkMessage(16 * 1024 * 1024), 10_000),
      // Keeps the TLS socket under ws, for raw frames and for stopping to read.
      createConnection: ((opts: ConnectionOptions) => {
        tls = connect(opts);
        return tls;
      }) as unknown as typeof createConnection,
    });
    await once(ws, 'open'); // rejects on the socket's or the handshake's error
    return new HostilePeer(new WsLinkSocket(ws), tls as TLSSocket);
  }

  /** Sends one binary WebSocket message holding these encoded frames. */
  send(...frames: Buffer[]): Promise<void> {
    const message = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    return new Promise((resolve, reject) => {
      this.socket.send(message, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** A HELLO as a router sends it, with any field overridden (or made invalid). */
  hello(fields: Record<string, unknown> = {}, identity?: Credential['identity']): Promise<void> {
    return this.send(
      encodeControl({
        type: 'hello',
        siteId: identity?.siteId,
        siteName: identity?.siteName,
        version: PROTOCOL_VERSION,
        cost: 1,
        maxFrameSize: 64 * 1024,
        ...fields,
      }),
    );
  }

  /** Writes a raw WebSocket frame (masked, as a dialler must), e.g. a PING. */
  rawWs(opcode: number, payload: Buffer): boolean {
    return this.tls.write(encodeWsFrame(opcode, payload));
  }

  /** A WebSocket PING with `payload`. */
  wsPing(payload: Buffer = Buffer.alloc(0)): boolean {
    return this.rawWs(Opcode.PING, payload);
  }

  /** Stops reading from the victim: its replies pile up in its own buffers (or should not). */
  stopReading(): void {
    this.tls.pause();
    this.keepFrames = false;
  }

  /** The first received frame of `type` that `test` accepts, once it arrives. */
  waitFor(
    type: number,
    test: (f: ReceivedFrame) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<ReceivedFrame> {
    const found = this.frames.find((f) => f.type === type && test(f));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no frame of type ${type} from the victim within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (f: ReceivedFrame): boolean => {
        if (f.type !== type || !test(f)) return false;
        clearTimeout(timer);
        resolve(f);
        return true;
      };
      this.waiters.add(waiter);
    });
  }

  /** The CONTROL messages received so far, parsed. */
  controls(): Record<string, unknown>[] {
    return this.frames
      .filter((f) => f.type === FrameType.CONTROL)
      .map((f) => JSON.parse(f.payload.toString('utf8')) as Record<string, unknown>);
  }

  close(): void {
    this.socket.terminate();
  }
}
