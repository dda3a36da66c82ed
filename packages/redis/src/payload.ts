import type { ControlCommand, Except } from '@holdfast/server';

/** What travels on a stream's pub/sub channel, decoded. */
export type ChannelPayload =
  | { kind: 'msg'; epoch: string; offset: number; except: Except | undefined; frame: string }
  | { kind: 'vol'; except: Except | undefined; frame: string }
  | {
      kind: 'presence';
      room: string;
      event: 'join' | 'leave';
      user: string;
      sessions: number;
    };

// Layout: one letter, then newline-separated fields, the frame last (it may contain anything;
// the other fields never contain a raw newline: epochs are ours, JSON escapes newlines).
//   m\n<epoch>\n<offset>\n<except JSON or empty>\n<frame>   (built by the append script)
//   v\n<except JSON or empty>\n<frame>
//   p\n<JSON {room, event, user, sessions}>

/** Encode an except list for storage and payloads ('' when empty). */
export function encodeExcept(except: Except | undefined): string {
  if (!except || (!except.sessions?.length && !except.users?.length)) return '';
  return JSON.stringify(except);
}

/** Decode what {@link encodeExcept} made. */
export function decodeExcept(text: string | undefined): Except | undefined {
  return text ? (JSON.parse(text) as Except) : undefined;
}

/** A volatile frame's payload. */
export function encodeVolatile(frame: string, except: Except | undefined): string {
  return `v\n${encodeExcept(except)}\n${frame}`;
}

/** A presence change's payload. */
export function encodePresence(
  room: string,
  event: 'join' | 'leave',
  user: string,
  sessions: number,
): string {
  return `p\n${JSON.stringify({ room, event, user, sessions })}`;
}

/** Decode a stream channel payload; undefined when it is not one of ours. */
export function decodePayload(payload: string): ChannelPayload | undefined {
  const kind = payload.charAt(0);
  if (payload.charAt(1) !== '\n') return undefined;
  if (kind === 'm') {
    const a = payload.indexOf('\n', 2);
    const b = payload.indexOf('\n', a + 1);
    const c = payload.indexOf('\n', b + 1);
    if (a < 0 || b < 0 || c < 0) return undefined;
    return {
      kind: 'msg',
      epoch: payload.slice(2, a),
      offset: Number(payload.slice(a + 1, b)),
      except: decodeExcept(payload.slice(b + 1, c)),
      frame: payload.slice(c + 1),
    };
  }
  if (kind === 'v') {
    const a = payload.indexOf('\n', 2);
    if (a < 0) return undefined;
    return { kind: 'vol', except: decodeExcept(payload.slice(2, a)), frame: payload.slice(a + 1) };
  }
  if (kind === 'p') {
    const p = JSON.parse(payload.slice(2)) as {
      room: string;
      event: 'join' | 'leave';
      user: string;
      sessions: number;
    };
    return { kind: 'presence', room: p.room, event: p.event, user: p.user, sessions: p.sessions };
  }
  return undefined;
}

/** Decode a control channel payload. */
export function decodeControl(payload: string): ControlCommand {
  return JSON.parse(payload) as ControlCommand;
}
