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
 * The browser's WebSocket, wrapped so the demo can drop its socket or go offline on demand.
 * While offline (the button, or the browser's own `offline` event), new sockets fail at once
 * as they would without a network; WebSockets already open are closed (browsers keep them
 * open under network emulation, which would hide the outage).
 */
export class DemoNetwork {
  private offlineUntil = 0;
  private browserOffline = false;
  private readonly live = new Set<WebSocket>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** A WebSocket implementation for `createClient({ WebSocket })`. */
  readonly WebSocket: WebSocketConstructor;

  constructor(private readonly onChange: () => void) {
    const net = this;
    function DemoSocket(url: string, protocols?: string | string[]): WebSocketLike {
      if (net.isOffline()) return new OfflineSocket();
      const ws = new WebSocket(url, protocols);
      net.live.add(ws);
      ws.addEventListener('close', () => net.live.delete(ws));
      return ws;
    }
    this.WebSocket = DemoSocket as unknown as WebSocketConstructor;
    window.addEventListener('offline', () => {
      this.browserOffline = true;
      this.drop();
      this.onChange();
    });
    window.addEventListener('online', () => {
      this.browserOffline = false;
      this.onChange();
    });
  }

  isOffline(): boolean {
    return this.browserOffline || Date.now() < this.offlineUntil;
  }

  /** Close the current socket as a network failure would (the client reconnects and resumes). */
  drop(code = 3000, reason = 'dropped by the user'): void {
    for (const ws of this.live) ws.close(code, reason);
  }

  /** Drop the socket and refuse new ones for `ms`. */
  goOffline(ms: number): void {
    this.offlineUntil = Date.now() + ms;
    this.drop(3001, 'offline on purpose');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.onChange();
      // Like the browser's `online` event: the client retries at once instead of waiting out its backoff.
      window.dispatchEvent(new Event('online'));
    }, ms);
    this.onChange();
  }
}
