// The typical app of app-mini.js with both plugins (and the token provider tokenRefresh calls):
// what the size test expects them to add to its bundle.
import { appends, createClient, tokenRefresh } from '@holdfast/client';
import { chat } from './chat-mini.js';
import { useChat } from './use-chat.js';

await useChat(
  createClient({
    url: '/ws',
    protocol: chat,
    token: () => fetch('/token').then((r) => r.text()),
    plugins: [appends, tokenRefresh],
  }),
);
