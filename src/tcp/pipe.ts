import type { Socket } from 'node:net';
import { describe } from '../errors.js';
import type { Logger } from '../log.js';
import { EndStats } from '../metrics/address-stats.js';
import type { MuxStream, StreamHandler } from '../mux/stream.js';
import { ResetCode } from '../protocol/frame.js';
import { countRead } from '../runtime/gc-pacer.js';
import { closeCleanly, resetSocket } from './listen.js';
import { WriteBatch, type WriteOwner } from './write-batch.js';

/**
 * The socket's listeners are shared functions that find their pipe on the socket, not
 * closures per pipe: a router may hold tens of thousands of idle streams.
 */
const PIPE = Symbol('skiff.pipe');
const EMPTY = Buffer.alloc(0);
type PipedSocket = Socket & { [PIPE]: StreamPipe };

function onSocketData(this: Socket, chunk: Buffer): void {
  (this as PipedSocket)[PIPE].socketData(chunk);
}

function onSocketEnd(this: Socket): void {
  (this as PipedSocket)[PIPE].socketEnd();
}

function onSocketError(this: Socket, err: Error): void {
  (this as PipedSocket)[PIPE].abort(`connection error: ${describe(err)}`);
}

function onSocketClose(this: Socket): void {
  const pipe = (this as PipedSocket)[PIPE];
  if (pipe.state !== PipeState.Done) pipe.abort('connection closed');
}

/** What a pipe tells whoever made it (an object, not closures: see PIPE above). */
export interface PipeOwner {
  /** The pipe is done: both directions ended, or it was reset. Called once. */
  pipeDone(pipe: StreamPipe): void;
  /**
   * The stream was reset before it opened (refused, no route, link lost): may return a
   * stream opened elsewhere for the same client, which then takes this one's place.
   */
  retry?(pipe: StreamPipe, code: number, reason: string): MuxStream | undefined;
  /** The stream this pipe opened was accepted (OPEN_OK): the listener side's success. */
  opened?(pipe: StreamPipe): void;
}

/** Where one TCP connection and its stream are. */
export enum PipeState {
  /** The far end is not ready: OPEN sent and no OPEN_OK yet (listener side), or the target is being dialled (connector side). The socket is not read. */
  Pending = 0,
  /** Bytes flow both ways; each direction may be half-closed on its own. */
  Open = 1,
  /** Both directions ended, or one end aborted: nothing more is sent either way. */
  Done = 2,
}

/**
 * Joins a TCP socket to a mux stream, both ways, with backpressure at each step:
 * - socket -> stream: when stream.write() says stop (no credit, or the link is congested)
 *   the socket is paused, and resumed on onDrain; the kernel then pushes back on the sender.
 * - stream -> socket: received bytes are written to the socket and credited back to the
 *   peer (stream.consumed) only when the socket has flushed them, so a reader that stops
 *   reading stops the sender after one window, and this router holds at most that window.
 * End maps to FIN and FIN to end (half-close); an error or abort on either side resets
 * the other; a target that refuses before the stream opened closes the client cleanly.
 */
export class StreamPipe implements StreamHandler, WriteOwner {
  state = PipeState.Pending;
  private socket: Socket | undefined;
  private batch: WriteBatch | undefined;
  private socketEnded = false;
  private peerEnded = false;

  /** Set right after construction: the pipe is the stream's handler, so it exists first. */
  stream!: MuxStream;
  constructor(
    private readonly logger: Logger,
    /** Where the pipe leads, for its log lines (no child logger: a router holds thousands of pipes). */
    private readonly via: string,
    private readonly owner: PipeOwner,
    /** Where the bytes of the pipe's socket are counted. */
    private readonly stats: EndStats = new EndStats(),
  ) {}

  /** Connects the socket: reads start once the stream is open (see onOpen/accepted). */
  attach(socket: Socket): void {
    if (this.state === PipeState.Done) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    this.batch = new WriteBatch(socket, this);
    socket.pause();
    (socket as PipedSocket)[PIPE] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  /** @internal The socket read a chunk. */
  socketData(chunk: Buffer): void {
    countRead(chunk.length);
    this.stats.receivedBytes += chunk.length;
    if (this.state === PipeState.Open && !this.stream.write(chunk)) this.socket?.pause();
  }

  /**
   * @internal The socket reported EOF: the peer's FIN, or a reset. libuv reports a RST that
   * finds unread bytes queued (this pipe pauses its socket whenever the stream has no
   * credit) as EOF, so passing it on as FIN would make an abort look like a clean, short
   * end. An empty write tells them apart: the kernel fails it on a reset socket (the error
   * reaches onSocketError, which aborts) and sends nothing after a FIN. Once our own side
   * is ended there is no write left to ask with.
   */
  socketEnd(): void {
    const socket = this.socket;
    if (socket === undefined || socket.writableEnded || this.state === PipeState.Done) {
      this.peerFinished();
      return;
    }
    socket.write(EMPTY, (err) => {
      if (!err) this.peerFinished();
    });
  }

  private peerFinished(): void {
    this.socketEnded = true;
    if (this.state === PipeState.Open) this.stream.end();
    this.checkFinished();
  }

  /** Connector side: the target is connected and the stream accepted. */
  start(): void {
    if (this.state !== PipeState.Pending) return;
    this.state = PipeState.Open;
    this.socket?.resume();
  }

  onOpen(): void {
    this.owner.opened?.(this);
    this.start();
  }

  onData(chunk: Buffer): void {
    const batch = this.batch;
    if (!batch || this.state === PipeState.Done) {
      this.stream.consumed(chunk.length);
      return;
    }
    batch.write(chunk);
  }

  /** @internal The socket flushed `bytes` received bytes: credit them back. */
  socketWritten(bytes: number, err?: Error | null): void {
    if (err) return;
    this.stats.sentBytes += bytes;
    this.stream.consumed(bytes);
  }

  onEnd(): void {
    this.peerEnded = true;
    this.batch?.flush(); // held bytes go before the FIN
    this.socket?.end();
    this.checkFinished();
  }

  onReset(code: number, reason: string): void {
    if (this.state === PipeState.Done) return;
    const wasPending = this.state === PipeState.Pending;
    if (wasPending) {
      const next = this.owner.retry?.(this, code, reason);
      if (next !== undefined) {
        this.stream = next;
        return;
      }
    }
    this.finish();
    const socket = this.socket;
    this.logger.debug(
      { via: this.via, stream: this.stream.id, code, reason },
      'stream reset by peer',
    );
    if (!socket) return;
    if (wasPending) {
      closeCleanly(socket); // nothing was exchanged yet
    } else {
      resetSocket(socket);
    }
  }

  onDrain(): void {
    if (this.state === PipeState.Open) this.socket?.resume();
  }

  onClose(): void {
    this.checkFinished();
  }

  /** Resets the stream because of something at this end (abort, error, dial failure). */
  abort(reason: string, code: number = ResetCode.ABORTED): void {
    if (this.state === PipeState.Done) return;
    this.finish();
    this.logger.debug({ via: this.via, stream: this.stream.id, reason }, 'stream aborted');
    this.stream.reset(code, reason);
    if (this.socket) resetSocket(this.socket);
  }

  private checkFinished(): void {
    if (this.state !== PipeState.Done && this.socketEnded && this.peerEnded) this.finish();
  }

  private finish(): void {
    this.state = PipeState.Done;
    this.owner.pipeDone(this);
  }
}
