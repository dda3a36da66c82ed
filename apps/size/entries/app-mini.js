// A typical browser app (issue 17's: client + protocol + a few app schemas in zod/mini): the chat
// protocol of chat-mini.js, a client, and its use (use-chat.js). app-mini-storage.js adds
// persistence, app-mini-plugins.js the plugins.
import { createClient } from '@holdfast/client';
import { chat } from './chat-mini.js';
import { useChat } from './use-chat.js';

await useChat(createClient({ url: '/ws', protocol: chat }));
