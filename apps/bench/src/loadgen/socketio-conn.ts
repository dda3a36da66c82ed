import { WebSocket } from 'ws';
import type { Echo, Tick } from '../payload.js';
import { BenchConn, type ConnHooks, SOCKET_OPTIONS } from './conn.js';

const JOIN_ACK = 0;

/**
 * Engine.IO v4 / Socket.IO v5 by hand over the websocket transport: `0{...}` open, `40` connect
 * (with `{pid, offset}` to recover a session), `40{sid,pid}` connected, `42[...]` events,
 * `42<id>[...]`/`43<id>[...]` acks, ping `2` → pong `3`.
 */
export class SocketIoConn extends BenchConn {
  private pid: string | undefined;
  private offset: string | undefined;
  /** Sessions recovered on reconnect. */
  recovered = 0;

  constructor(
    index: number,
    url: string,
    channel: string,
    room: string | undefined,
    hooks: ConnHooks,
    private readonly recovery: boolean,
  ) {
    super(index, url, channel, room, hooks);
  }

  protected createSocket(): WebSocket {
    return new WebSocket(this.url, SOCKET_OPTIONS);
  }

  protected onOpen(): void {}

  protected onText(ws: WebSocket, text: string, resume: boolean): void {
    switch (text.charCodeAt(0)) {
      case 52: // '4' message: a Socket.IO packet
        this.onPacket(ws, text, resume);
        return;
      case 50: // '2' ping
        ws.send('3');
        return;
      case 48: // '0' open
        ws.send(
          resume && this.pid && this.offset
            ? `40${JSON.stringify({ pid: this.pid, offset: this.offset })}`
            : '40',
        );
        return;
    }
  }

  private onPacket(ws: WebSocket, text: string, resume: boolean): void {
    const type = text.charCodeAt(1);
    let i = 2;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    const ackId = i > 2 ? Number(text.slice(2, i)) : -1;
    const body = text.slice(i);
    switch (type) {
      case 50: {
        // '2' event
        const args = JSON.parse(body) as unknown[];
        if (args[0] !== 'tick') return;
        const tick = args[1] as Tick;
        if (this.recovery) this.offset = args[args.length - 1] as string;
        this.tick(tick.id, tick.ts);
        return;
      }
      case 51: {
        // '3' ack
        if (ackId === JOIN_ACK) this.markReady();
        else this.hooks.onEchoReply(this, (JSON.parse(body) as [Echo])[0].seq);
        return;
      }
      case 48: {
        // '0' connect
        const { pid } = JSON.parse(body || '{}') as { pid?: string };
        const recovered = resume && pid !== undefined && pid === this.pid;
        this.pid = pid;
        if (recovered) {
          this.recovered += 1;
          this.markReady();
        } else if (this.room === undefined) this.markReady();
        else ws.send(`42${JOIN_ACK}${JSON.stringify(['join', this.room])}`);
        return;
      }
      case 52: // '4' connect_error
        this.failReady(new Error(`connect_error ${body}`));
        return;
    }
  }

  sendEcho(seq: number, body: Echo): void {
    this.ws?.send(`42${seq + 1}${JSON.stringify(['echo', body])}`);
  }
}
