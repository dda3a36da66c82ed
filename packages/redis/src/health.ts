import type { Client, Link, RedisConnectionName } from './link.js';

/**
 * The health probe: a PING on each Redis connection, answered within `timeoutMs` (on the
 * injected clock), from the housekeeping sweep. A connection that is "ready" but does not
 * answer is partitioned from Redis (a dead link no reset announced: the node-redis client
 * would wait forever). While partitioned the engine reports `healthy() === false` and the
 * server sheds this node's clients so they resume on a healthy node; the connection's
 * `socketTimeout` (no further probe is written to it) then drops the dead socket, which
 * fails its pending commands and starts node-redis's reconnection with backoff.
 */
export class Health {
  /** Partitions detected so far. */
  partitions = 0;
  /** How long the last detected partition took to detect (from the unanswered probe, ms). */
  lastDetectionMs: number | undefined;
  /** A probe each connection has not answered yet (no second one is sent meanwhile). */
  private readonly pending: Record<RedisConnectionName, number | undefined> = {
    commands: undefined,
    subscriber: undefined,
  };

  constructor(
    private readonly link: Link,
    private readonly timeoutMs: number,
  ) {}

  /** Probe both connections once; resolves within `timeoutMs`. */
  async probe(): Promise<void> {
    const { link } = this;
    if (!link.up.commands || !link.up.subscriber) {
      // Down is not a partition: the client knows and reconnects; probes resume when up.
      this.pending.commands = undefined;
      this.pending.subscriber = undefined;
      return;
    }
    const results = await Promise.all([this.ping(link.cmd, 'commands'), this.ping(link.sub, 'subscriber')]);
    const stalled = results.filter((r) => r === 'stalled').length > 0;
    if (stalled && !link.partitioned) {
      const since = Math.min(
        ...[this.pending.commands, this.pending.subscriber].filter((t) => t !== undefined),
      );
      this.partitions += 1;
      this.lastDetectionMs = link.clock.now() - since;
      link.log.warn({ detectionMs: this.lastDetectionMs }, 'redis partition: a connection does not answer');
      link.setPartitioned(true);
    }
    if (link.resyncDue && results.every((r) => r === 'ok')) {
      // A Cluster node reconnected: catch the watched streams up now that commands work.
      link.resyncDue = false;
      link.onCommandsReconnected();
    }
    if (!stalled && results.every((r) => r === 'ok') && link.partitioned) {
      link.log.info({}, 'redis partition healed');
      link.setPartitioned(false);
    }
  }

  private ping(client: Client, name: RedisConnectionName): Promise<'ok' | 'stalled' | 'failed'> {
    const { clock } = this.link;
    if (this.pending[name] !== undefined) {
      // The last probe is still unanswered: do not write again (writes would keep the
      // socket's idle timeout from firing on a dead link).
      return Promise.resolve('stalled');
    }
    const sentAt = clock.now();
    this.pending[name] = sentAt;
    let timer: unknown;
    const ping = this.link.cluster
      ? (
          client as unknown as { sendCommand(k: undefined, ro: boolean, a: string[]): Promise<unknown> }
        ).sendCommand(undefined, true, ['PING'])
      : client.sendCommand(['PING']);
    const answered = ping.then(
      () => {
        if (this.pending[name] === sentAt) this.pending[name] = undefined;
        return 'ok' as const;
      },
      () => {
        if (this.pending[name] === sentAt) this.pending[name] = undefined;
        return 'failed' as const;
      },
    );
    const late = new Promise<'stalled'>((resolve) => {
      timer = clock.setTimeout(() => resolve('stalled'), this.timeoutMs);
    });
    return Promise.race([answered, late]).finally(() => clock.clearTimeout(timer));
  }
}
