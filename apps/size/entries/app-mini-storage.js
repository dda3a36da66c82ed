// The typical app of app-mini.js that also keeps its session, cursors, rooms and outbox across
// page reloads (option `storage`: the persistence comes with webStorage).
import { createClient, webStorage } from '@holdfast/client';
import { chat } from './chat-mini.js';
import { useChat } from './use-chat.js';

await useChat(createClient({ url: '/ws', protocol: chat, storage: webStorage(sessionStorage) }));
