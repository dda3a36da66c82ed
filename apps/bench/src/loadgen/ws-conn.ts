import { WebSocket } from 'ws';
import type { Echo } from '../payload.js';
import { BenchConn, SOCKET_OPTIONS } from './conn.js';

/** The raw `ws` targets' protocol: JSON ticks, `{join}` → `{joined}`, `{id, data}` → `{id, result}`. */
export class WsConn extends BenchConn {
  protected createSocket(): WebSocket {
    return new WebSocket(this.url, SOCKET_OPTIONS);
  }

  protected onOpen(ws: WebSocket): void {
    if (this.room === undefined) this.markReady();
    else ws.send(JSON.stringify({ join: this.room }));
  }

  protected onText(_ws: WebSocket, text: string): void {
    const m = JSON.parse(text) as { ch?: string; id: number; ts: number; joined?: string };
    if (m.ch !== undefined) this.tick(m.id, m.ts);
    else if (m.joined !== undefined) this.markReady();
    else this.hooks.onEchoReply(this, m.id);
  }

  sendEcho(seq: number, body: Echo): void {
    this.ws?.send(JSON.stringify({ id: seq, data: body }));
  }
}
