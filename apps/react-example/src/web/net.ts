import type { WebSocketConstructor, WebSocketLike } from '@holdfast/client';

/** A socket that fails like a connection attempt without network: closes with 1006 on the next tick. */
class OfflineSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: unknown) => void) | null = null;
  onclose: ((e: unknown) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  constructor() {
    setTimeout(() => {
      this.readyState = 3;
      this.onerror?.({ type: 'error' });
      this.onclose?.({ code: 1006, reason: '', wasClean: false });
    }, 0);
  }
  send(): void {}
  close(): void {}
}

/**
 * The browser's WebSocket, wrapped so the example can drop its socket or go offline on demand
 * (browsers keep WebSockets open under network emulation, which would hide an outage).
 */
export class ExampleNetwork {
  #offlineUntil = 0;
  readonly #live = new Set<WebSocket>();

  /** A WebSocket implementation for the client's options. */
  readonly WebSocket: WebSocketConstructor;

  constructor() {
    const net = this;
    function ExampleSocket(url: string, protocols?: string | string[]): WebSocketLike {
      if (Date.now() < net.#offlineUntil) return new OfflineSocket();
      const ws = new WebSocket(url, protocols);
      net.#live.add(ws);
      ws.addEventListener('close', () => net.#live.delete(ws));
      return ws;
    }
    this.WebSocket = ExampleSocket as unknown as WebSocketConstructor;
  }

  /** Close the open socket as a network failure would: the client reconnects and resumes. */
  drop(): void {
    for (const ws of this.#live) ws.close(3000, 'dropped by the user');
  }

  /** Drop the socket and refuse new ones for `ms`; then retry at once (like the `online` event). */
  goOffline(ms: number): void {
    const until = Date.now() + ms;
    this.#offlineUntil = until;
    this.drop();
    setTimeout(() => {
      if (this.#offlineUntil === until) this.goOnline();
    }, ms);
  }

  /** End an offline period now and retry at once (like the browser's `online` event). */
  goOnline(): void {
    this.#offlineUntil = 0;
    window.dispatchEvent(new Event('online'));
  }
}
