import type { SessionRecord } from '@holdfast/server';

// A session is one Redis hash:
//   u user, h resume token hash, c created at, d app data (JSON), e expiry (ms), o owner
//   node ('' when disconnected), n connections so far, rn rooms joined so far,
//   r:<room> join order, a:<stream> acked cursor as JSON [epoch, offset], s:<stream> where the
//   subscription started (same encoding; absent in records written before v1).
// Rooms and cursors are fields of their own so that joins and acks write one field.

/** Hash fields of a new session record. */
export function encodeSession(
  record: SessionRecord,
  expiresAt: number,
  owner: string,
): Record<string, string> {
  const fields: Record<string, string> = {
    u: record.user,
    h: record.resumeTokenHash,
    c: String(record.createdAt),
    e: String(expiresAt),
    o: owner,
    n: '0',
    rn: String(record.rooms.length),
  };
  if (record.data !== undefined) fields.d = JSON.stringify(record.data);
  record.rooms.forEach((room, i) => {
    fields[`r:${room}`] = String(i + 1);
  });
  for (const [stream, c] of Object.entries(record.acked))
    fields[`a:${stream}`] = encodeCursor(c.epoch, c.offset);
  for (const [stream, c] of Object.entries(record.starts))
    fields[`s:${stream}`] = encodeCursor(c.epoch, c.offset);
  return fields;
}

/** A cursor field value. */
export function encodeCursor(epoch: string, offset: number): string {
  return JSON.stringify([epoch, offset]);
}

/** The record held in a session hash (fields as HGETALL returns them). */
export function decodeSession(id: string, fields: Record<string, string>): SessionRecord {
  const rooms: [string, number][] = [];
  const acked: SessionRecord['acked'] = {};
  const starts: SessionRecord['starts'] = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k.startsWith('r:')) rooms.push([k.slice(2), Number(v)]);
    else if (k.startsWith('a:') || k.startsWith('s:')) {
      const [epoch, offset] = JSON.parse(v) as [string, number];
      (k[0] === 'a' ? acked : starts)[k.slice(2)] = { epoch, offset };
    }
  }
  rooms.sort((a, b) => a[1] - b[1]);
  return {
    id,
    user: fields.u ?? '',
    resumeTokenHash: fields.h ?? '',
    createdAt: Number(fields.c ?? 0),
    rooms: rooms.map(([room]) => room),
    acked,
    starts,
    data: fields.d === undefined ? undefined : (JSON.parse(fields.d) as Record<string, unknown>),
  };
}

/** Turn a flat [field, value, ...] reply into an object. */
export function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
