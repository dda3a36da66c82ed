/**
 * Starting (engine listeners, the port, the sweep timer) and stopping (drain, close every
 * connection, stop the engine and the transport) a server. Timers come from the injected clock.
 */
import { type AnyProtocol, CloseCode } from '@holdfast/protocol';
import type { Control } from './control.js';
import type { Core } from './core.js';
import type { Delivery } from './delivery.js';
import type { Pool } from './pool.js';
import type { Sessions } from './sessions.js';
import type { WsTransport } from './transport.js';

/** How long close handshakes get before the sockets left are cut (ms). */
const CLOSE_GRACE_MS = 1000;

/** Start and stop of one server. */
export class Lifecycle<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly transport: WsTransport<P>;
  private readonly pool: Pool<P>;
  private readonly sessions: Sessions<P>;
  private readonly delivery: Delivery<P>;
  private readonly control: Control<P>;

  constructor(
    core: Core<P>,
    transport: WsTransport<P>,
    pool: Pool<P>,
    sessions: Sessions<P>,
    delivery: Delivery<P>,
    control: Control<P>,
  ) {
    this.core = core;
    this.transport = transport;
    this.pool = pool;
    this.sessions = sessions;
    this.delivery = delivery;
    this.control = control;
  }

  /** Start the engine with the delivery listeners, listen, start the sweep. */
  async start(): Promise<void> {
    const { delivery, control } = this;
    await this.core.engine.start({
      message: (stream, epoch, message) => delivery.deliverLive(stream, epoch, message),
      volatile: (stream, frame, except) => delivery.deliverShared(stream, frame, except),
      presence: (room, event, user, sessions) => delivery.deliverPresence(room, event, user, sessions),
      control: (command) => control.run(command),
      watching: (stream) => this.pool.subscribers.hasKey(stream),
      health: ({ partitioned }) => {
        // Cut off from storage while it may be fine for other nodes: move the clients away
        // (retryable close) so they resume on a healthy node. A plain outage keeps them.
        if (!partitioned) return;
        this.core.log.warn(
          { connections: this.pool.connections.size },
          'storage partitioned: closing clients',
        );
        for (const conn of [...this.pool.connections.values()])
          this.pool.closeConn(conn, CloseCode.TryAgainLater, 'storage unreachable from this node', 1000);
      },
    });
    await this.transport.start();
    this.sessions.startSweep();
    const { opts } = this.core;
    if (opts.authenticate && opts.origins === undefined) {
      // Browsers send cookies with a WebSocket upgrade from any page: an `authenticate` that
      // reads them lets any website connect as the user (cross-site WebSocket hijacking).
      opts.log.warn(
        { option: 'origins' },
        'origins is unset: any website may open connections; if authenticate reads cookies, set origins',
      );
    }
  }

  /** See `HoldfastServer.close`. */
  close(): Promise<void> {
    const { core, pool, transport } = this;
    core.closing ??= (async () => {
      await core.started.catch(() => undefined);
      transport.detachUpgrades();
      // Drain first: new client messages are left unanswered (clients resend them to the next
      // node), running handlers finish and their answers reach the client before the close,
      // so nothing runs twice.
      core.draining = true;
      const settled = (async () => {
        while (core.running.size > 0) await Promise.allSettled([...core.running]);
      })();
      await this.race(settled, core.opts.drainTimeoutMs);
      for (const conn of pool.connections.values())
        pool.closeConn(conn, core.opts.shutdownCode, 'server shutting down');
      this.sessions.stop();
      // Give close handshakes a moment, then cut what remains.
      await this.race(
        Promise.all([...pool.connections.values()].map((c) => transport.closed(c))),
        CLOSE_GRACE_MS,
      );
      for (const conn of pool.connections.values()) transport.terminate(conn);
      await core.engine.close();
      await transport.stop();
    })();
    return core.closing;
  }

  /** `work`, or `ms` on the clock, whichever is first (the timer never holds the process open). */
  private async race(work: Promise<unknown>, ms: number): Promise<void> {
    const { clock } = this.core;
    let timer: unknown;
    const deadline = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, ms);
      (timer as { unref?: () => void } | undefined)?.unref?.();
    });
    await Promise.race([work, deadline]);
    clock.clearTimeout(timer);
  }
}
