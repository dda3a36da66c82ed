// The app runs the Node client on \`ws\` (Node 20 has no global WebSocket) without installing
// @types/ws: proof that the published types of Holdfast need none. This is all it needs of it.
declare module 'ws' {
  import type { WebSocketConstructor } from '@holdfast/client';

  const WebSocket: WebSocketConstructor;
  export default WebSocket;
}
