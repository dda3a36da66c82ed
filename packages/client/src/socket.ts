/**
 * The part of the WebSocket API the client uses. The browser's `WebSocket`, Node's global
 * one and the `ws` package's all fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the TCP connection without a closing handshake (used for dead sockets). */
  terminate?(): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

/**
 * A WebSocket class: `globalThis.WebSocket` or `import WebSocket from 'ws'`.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws';
 * createClient({ url, protocol, WebSocket });
 * ```
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** `WebSocket.OPEN`. */
export const OPEN = 1;
