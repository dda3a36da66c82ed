// The client in a browser project: DOM lib, no Node types. Type-checked only.
import { createClient, tokenRefresh, webStorage } from '@holdfast/client';
import { chat } from '../src/protocol.js';

const client = createClient({
  url: `wss://${location.host}/ws`,
  protocol: chat,
  token: () => fetch('/token').then((r) => r.text()),
  plugins: [tokenRefresh],
  storage: webStorage(window.sessionStorage),
  logger: console,
});
client.on('said', (msg) => {
  document.body.append(`${msg.from}: ${msg.text}\n`);
});
await client.connect();
await client.send('say', { room: 'general', text: 'hi' });
