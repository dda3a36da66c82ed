import type { Link } from './link.js';
import { GET_HANDLED, PUT_HANDLED } from './scripts.js';
import { BACKSTOP_MS } from './sessions.js';

/** First wait before asking again whether another node finished a claimed message (ms). */
const FIRST_WAIT_MS = 20;
/** Longest wait between two such polls (ms). */
const MAX_WAIT_MS = 500;

/**
 * Handled client message ids, shared by every node: the stored `res` of the last `keep`
 * messages of each session (so a message resent after a reconnect is answered, not run
 * again), and per-message claims so two nodes never run the same message at once.
 */
export class Handled {
  constructor(
    private readonly link: Link,
    private readonly nodeId: string,
    private readonly claimMs: number,
    private readonly leaseMs: number,
  ) {}

  /**
   * The stored `res` of a handled client message, or undefined when the caller should run
   * the handler. Claims the id for this node: if another node is running the same message,
   * polls (with backoff, on the injected clock) for its result, up to `claimMs` (after which
   * the other node is presumed dead and the claim taken over).
   */
  async get(sessionId: string, messageId: string): Promise<string | undefined> {
    const { link } = this;
    const keys = [link.keys.session(sessionId), link.keys.handled(sessionId), link.keys.claims(sessionId)];
    let waitMs = FIRST_WAIT_MS;
    for (;;) {
      if (link.state === 'closed') throw new Error('engine closed');
      const r = await link.run<[number, (string | number)?]>(GET_HANDLED, keys, [
        messageId,
        link.clock.now(),
        this.nodeId,
        this.claimMs,
        this.leaseMs + BACKSTOP_MS,
      ]);
      if (r[0] === 1) return String(r[1]);
      if (r[0] === 0) return undefined;
      await new Promise<void>((resolve) => link.clock.setTimeout(resolve, waitMs));
      waitMs = Math.min(MAX_WAIT_MS, waitMs * 2);
    }
  }

  /** Store a handled message's `res` (the last `keep` per session are kept) and release the claim. */
  async put(sessionId: string, messageId: string, res: string, keep: number): Promise<void> {
    await this.link.run(PUT_HANDLED, this.link.keys.sessionKeys(sessionId), [
      messageId,
      res,
      keep,
      this.leaseMs + BACKSTOP_MS,
    ]);
  }
}
