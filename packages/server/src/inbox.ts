import { ErrorCode, HoldfastError } from '@holdfast/protocol';
import type { Clock } from './clock.js';

/** A client message taken from an {@link Inbox}. */
export interface InboxMessage {
  /** The client-made message id. */
  id: string;
  /** Message type. */
  type: string;
  /** Validated data. */
  data: unknown;
  /** Sending session. */
  sessionId: string;
  /** Sending user. */
  user: string;
}

interface Waiter {
  resolve: (m: InboxMessage) => void;
  reject: (e: Error) => void;
  timer: unknown;
}

/**
 * Pull-style access to one session's incoming messages (those without a handler). A message
 * is acknowledged to the client as handled when it is taken (received) from the inbox.
 * Bounded: when full, `put` waits (the client's ack is delayed, its outbox holds the rest).
 */
export class Inbox implements AsyncIterable<InboxMessage> {
  private readonly queue: { message: InboxMessage; taken: () => void; drop: (e: Error) => void }[] = [];
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly capacity: number,
    private readonly onClose: () => void,
  ) {}

  /** Internal: enqueue a message; resolves when it has been taken. */
  put(message: InboxMessage): Promise<void> {
    if (this.closed) return Promise.reject(new HoldfastError(ErrorCode.NoHandler, 'Inbox closed'));
    return new Promise<void>((taken, reject) => {
      const waiter = this.waiters.shift();
      if (waiter) {
        this.clock.clearTimeout(waiter.timer);
        waiter.resolve(message);
        taken();
        return;
      }
      if (this.queue.length >= this.capacity) {
        reject(new HoldfastError(ErrorCode.LimitExceeded, 'Inbox full'));
        return;
      }
      this.queue.push({ message, taken, drop: reject });
    });
  }

  /**
   * The next message. Rejects with `TIMEOUT` after `timeoutMs` (when given), or
   * `CLIENT_CLOSED` when the inbox is closed (session expired or server closed).
   */
  receive(options: { timeoutMs?: number } = {}): Promise<InboxMessage> {
    const next = this.queue.shift();
    if (next) {
      next.taken();
      return Promise.resolve(next.message);
    }
    if (this.closed) return Promise.reject(new HoldfastError(ErrorCode.ClientClosed, 'Inbox closed'));
    return new Promise<InboxMessage>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      if (options.timeoutMs !== undefined) {
        waiter.timer = this.clock.setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new HoldfastError(ErrorCode.Timeout, `No message within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      this.waiters.push(waiter);
    });
  }

  /** Iterate messages until the inbox closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<InboxMessage> {
    for (;;) {
      try {
        yield await this.receive();
      } catch (err) {
        if (err instanceof HoldfastError && err.code === ErrorCode.ClientClosed) return;
        throw err;
      }
    }
  }

  /** Stop: waiting receivers reject with `CLIENT_CLOSED`; queued messages stay unacknowledged. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      this.clock.clearTimeout(w.timer);
      w.reject(new HoldfastError(ErrorCode.ClientClosed, 'Inbox closed'));
    }
    for (const q of this.queue.splice(0)) q.drop(new HoldfastError(ErrorCode.NoHandler, 'Inbox closed'));
    this.onClose();
  }
}
