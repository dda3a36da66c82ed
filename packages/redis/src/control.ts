import type { ControlCommand, Engine } from '@holdfast/server';
import type { Link } from './link.js';
import { decodeControl } from './payload.js';

/** The server's listener for control commands. */
type ControlListener = Parameters<Engine['start']>[0]['control'];

/**
 * Cross-node control commands (kick a session, close a connection...): published on one
 * classic pub/sub channel every node subscribes to; the node holding the target acts on it.
 */
export class Control {
  private listener: ControlListener | undefined;

  constructor(private readonly link: Link) {}

  /** Subscribe to the control channel; commands go to `listener` until `stop()`. */
  async subscribe(listener: ControlListener): Promise<void> {
    this.listener = listener;
    await this.link.sub.subscribe(this.link.keys.control, this.onPayload);
  }

  /** Stop handing commands to the server. */
  stop(): void {
    this.listener = undefined;
  }

  /** Publish a control command to every node. */
  async publish(command: ControlCommand): Promise<void> {
    await this.link.cmd.publish(this.link.keys.control, JSON.stringify(command));
  }

  private readonly onPayload = (payload: string): void => {
    try {
      this.listener?.(decodeControl(payload));
    } catch (err) {
      this.link.log.error({ err }, 'bad control command');
    }
  };
}
