/**
 * How the memory engine stores sessions and presence compactly: packed acked cursors and
 * subscription starts, and the present sessions of a room. Internal to {@link MemoryEngine}.
 */
import type { SessionRecord } from './engine.js';

/**
 * A session as the memory engine keeps it: the record's fields and the expiry in one object,
 * acked cursors and subscription starts packed as `[stream, ackEpoch, ackOffset, startEpoch,
 * startOffset, ...]` (a few bytes per stream where an object per cursor and one keyed by
 * stream names, unique to each session, cost hundreds).
 */
export interface StoredSession {
  readonly user: string;
  /** See {@link packHash}. */
  readonly resumeTokenHash: PackedHash;
  /** Milliseconds since the engine's `t0` (the id is the map key, not stored twice). */
  readonly createdAt: number;
  /** See {@link Rooms}. */
  rooms: Rooms;
  acks: (string | number)[];
  readonly data: Record<string, unknown> | undefined;
  /** Milliseconds since `t0`; 0 while connected. */
  expiresAt: number;
  connections: number;
}

/** The present sessions of one room: session -> the connection that makes it present; user -> count. */
export class RoomPresence {
  readonly sessions = new Map<string, string>();
  readonly users = new Map<string, number>();
  count(user: string): number {
    return this.users.get(user) ?? 0;
  }
}

/** The rooms of every session in none (never changed in place: joins make a new array). */
export const NO_ROOMS: readonly string[] = [];

/**
 * A session's rooms: {@link NO_ROOMS}, the name of its only room (most sessions are in one: an
 * array of one costs 56 bytes), or an array of two or more. Never changed in place.
 */
export type Rooms = string | readonly string[];

/** Rooms as stored, from a list. */
export function packRooms(list: readonly string[]): Rooms {
  return list.length === 0 ? NO_ROOMS : list.length === 1 ? list[0]! : list.slice();
}

/** A new list of the rooms. */
export function roomList(rooms: Rooms): string[] {
  return typeof rooms === 'string' ? [rooms] : rooms.slice();
}

/** The rooms with `room` added (last, if not there). */
export function withRoom(rooms: Rooms, room: string): Rooms {
  if (typeof rooms === 'string') return rooms === room ? rooms : [rooms, room];
  if (rooms.includes(room)) return rooms;
  // A new array of the exact size: push would reserve room for 16 more, per session.
  return rooms.length === 0 ? room : rooms.concat(room);
}

/** The rooms without `room`. */
export function withoutRoom(rooms: Rooms, room: string): Rooms {
  if (typeof rooms === 'string') return rooms === room ? NO_ROOMS : rooms;
  return rooms.includes(room) ? packRooms(rooms.filter((r) => r !== room)) : rooms;
}

/**
 * A resume-token hash as stored: a SHA-256 hex digest (what the server stores: 64 characters,
 * an 80-byte string) as its 32 bytes in a one-byte string (48 bytes); any other value as given,
 * in an array of one (never made by the server).
 */
export type PackedHash = string | readonly [string];

const HEX_DIGEST = /^[0-9a-f]{64}$/;

/** Pack a resume-token hash. */
export function packHash(hash: string): PackedHash {
  return HEX_DIGEST.test(hash) ? Buffer.from(hash, 'hex').toString('latin1') : [hash];
}

/** The resume-token hash as it was given to {@link packHash}. */
export function unpackHash(packed: PackedHash): string {
  return typeof packed === 'string' ? Buffer.from(packed, 'latin1').toString('hex') : packed[0];
}

/** Entries per stream in packed acks. */
export const ACK_STRIDE = 5;
/** The start epoch of a packed entry with no known start (never a wire epoch: those are 1+ characters). */
export const NO_START = '';

/** Where `stream`'s cursor starts in packed acks, or -1. */
export function ackIndex(acks: readonly (string | number)[], stream: string): number {
  for (let i = 0; i < acks.length; i += ACK_STRIDE) if (acks[i] === stream) return i;
  return -1;
}

/** A fresh record of a stored session (callers may keep or change it). */
export function toRecord(id: string, s: StoredSession, t0: number): SessionRecord {
  const acked: SessionRecord['acked'] = {};
  const starts: SessionRecord['starts'] = {};
  for (let i = 0; i < s.acks.length; i += ACK_STRIDE) {
    const stream = s.acks[i] as string;
    acked[stream] = { epoch: s.acks[i + 1] as string, offset: s.acks[i + 2] as number };
    if (s.acks[i + 3] !== NO_START)
      starts[stream] = { epoch: s.acks[i + 3] as string, offset: s.acks[i + 4] as number };
  }
  return {
    id,
    user: s.user,
    resumeTokenHash: unpackHash(s.resumeTokenHash),
    createdAt: t0 + s.createdAt,
    rooms: roomList(s.rooms),
    acked,
    starts,
    data: s.data,
  };
}
