import type { ChatLine } from '../shared/protocol.js';

/** Where the demo keeps recent chat lines per room. */
export interface HistoryStore {
  add(line: ChatLine): Promise<void>;
  list(room: string): Promise<ChatLine[]>;
  /** Rooms with stored lines (for dropping those nobody is in any more). */
  rooms(): Promise<string[]>;
  /** Forget a room's lines. */
  drop(room: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Recent lines in this process's memory: at most `keep` per room and `maxLines` in all (the
 * room written to least recently is dropped first), so the bytes held are bounded
 * (a line is at most ~1 KB: 280 characters of text, a 24-character name, ids).
 */
export function memoryHistory(keep = 200, maxLines = 10_000): HistoryStore {
  const rooms = new Map<string, ChatLine[]>();
  let total = 0;
  return {
    async add(line) {
      const list = rooms.get(line.room) ?? [];
      rooms.delete(line.room); // re-inserted: the map stays in least-recently-written order
      rooms.set(line.room, list);
      list.push(line);
      total += 1;
      if (list.length > keep) total -= list.splice(0, list.length - keep).length;
      while (total > maxLines) {
        const [oldest, lines] = rooms.entries().next().value as [string, ChatLine[]];
        rooms.delete(oldest);
        total -= lines.length;
      }
    },
    async list(room) {
      return [...(rooms.get(room) ?? [])];
    },
    async rooms() {
      return [...rooms.keys()];
    },
    async drop(room) {
      total -= rooms.get(room)?.length ?? 0;
      rooms.delete(room);
    },
    async close() {},
  };
}
