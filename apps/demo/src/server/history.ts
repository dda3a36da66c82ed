import type { ChatLine } from '../shared/protocol.js';

/** Where the demo keeps recent chat lines per room. */
export interface HistoryStore {
  add(line: ChatLine): Promise<void>;
  list(room: string): Promise<ChatLine[]>;
  close(): Promise<void>;
}

/** Recent lines in this process's memory, at most `keep` per room. */
export function memoryHistory(keep = 200): HistoryStore {
  const rooms = new Map<string, ChatLine[]>();
  return {
    async add(line) {
      let list = rooms.get(line.room);
      if (!list) {
        list = [];
        rooms.set(line.room, list);
      }
      list.push(line);
      if (list.length > keep) list.splice(0, list.length - keep);
    },
    async list(room) {
      return [...(rooms.get(room) ?? [])];
    },
    async close() {},
  };
}
