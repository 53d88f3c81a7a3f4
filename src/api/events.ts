/**
 * Server-Sent Events at `/api/events`: each `NodeEvent` becomes `event: <type>` plus one `data:`
 * line of JSON; a `: keep-alive` comment goes out every 15 s. A client that stops reading (more
 * than 1 MiB queued) is dropped; one that disconnects is unsubscribed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeControl } from '../node/node-control.js';
import type { NodeEvent } from '../node/view-types.js';

/** How often a keep-alive comment is sent, by default. */
export const KEEP_ALIVE_MS = 15_000;
/** Bytes queued for a client beyond which it is considered stuck and dropped. */
const MAX_QUEUED = 1024 * 1024;

type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

/** Formats one event as an SSE message. */
export function formatEvent(event: NodeEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** The open event streams of one server. */
export class EventStreams {
  private readonly open = new Set<() => void>();

  constructor(
    private readonly control: NodeControl,
    private readonly log: Log,
    private readonly keepAliveMs: number = KEEP_ALIVE_MS,
  ) {}

  /** Number of connected clients. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Starts a stream on `res`. Throws (before anything is sent) if the node refuses the
   * subscription, so the caller can still answer with an error.
   */
  start(_req: IncomingMessage, res: ServerResponse): void {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    // The connection is not reused after a stream ends, so ending the stream closes it.
    res.setHeader('Connection', 'close');

    let closed = false;
    const send = (text: string): void => {
      if (closed) return;
      res.write(text);
      if (res.writableLength > MAX_QUEUED) {
        this.log('warn', 'event stream client is not reading; dropping it');
        res.destroy();
      }
    };
    const unsubscribe = this.control.subscribe((event) => {
      try {
        send(formatEvent(event));
      } catch (error) {
        this.log('warn', `event not sent: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    const timer = setInterval(() => send(': keep-alive\n\n'), this.keepAliveMs);
    timer.unref();
    const stop = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      this.open.delete(stop);
      try {
        unsubscribe();
      } catch (error) {
        this.log('warn', `unsubscribe failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      res.end();
    };
    this.open.add(stop);
    res.on('close', stop);
    res.flushHeaders();
    send(': connected\n\n');
  }

  /** Ends every stream (used when the server closes). */
  closeAll(): void {
    for (const stop of [...this.open]) stop();
  }
}
