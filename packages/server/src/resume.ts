/**
 * The resume rules of docs/PROTOCOL.md §4.2 as pure functions: the `welcome` entry of each
 * stream of a resumed session, and of each stream of the new session a failed resume creates.
 */
import type { StreamStatus } from '@holdfast/protocol';
import type { StreamHead } from './engine.js';

/** A position in a stream's history. */
interface Position {
  epoch: string;
  offset: number;
}

/**
 * The entry of one stream of a resumed session. `cursor` is the client's cursor for it (if
 * sent), `acked` the last cursor it acked, `start` where the subscription started (if known).
 *
 * - The starting cursor is the client's, else the last ack, else the start.
 * - Of the current epoch: never below the start (raised to it); ahead of the head is `unknown`;
 *   trimmed after it is `retention`; else `recovered` at exactly that cursor.
 * - Of an epoch the subscription had (its start's or last ack's): `epoch`, the new epoch's
 *   offsets up to the first retained one announced lost (those above the start).
 * - Of any other epoch (made up): `unknown`, the cursor ignored, the server's own cursor used.
 *
 * Never an offset below the start: a resume never replays what came before the subscription,
 * and one hello never replays a whole retention on demand.
 */
export function resumeStatus(
  stream: string,
  head: StreamHead,
  cursor: Position | undefined,
  acked: Position | undefined,
  start: Position | undefined,
): StreamStatus {
  const { epoch } = head;
  /** The lowest offset of the current epoch this subscription may be replayed from. */
  const floor = start?.epoch === epoch ? start.offset : 0;
  const from = cursor ?? acked ?? start;
  if (!from) return { stream, epoch, offset: Math.max(head.offset, floor), status: 'new' };
  if (from.epoch === epoch) {
    const offset = Math.max(from.offset, floor);
    if (offset > head.offset) return { stream, epoch, offset: head.offset, status: 'gap', reason: 'unknown' };
    if (offset < head.first - 1) {
      const to = head.first - 1;
      return { stream, epoch, offset: to, status: 'gap', reason: 'retention', from: offset + 1, to };
    }
    return { stream, epoch, offset, status: 'recovered' };
  }
  if (from.epoch === start?.epoch || from.epoch === acked?.epoch) {
    // An older epoch of this subscription: its tail is lost (size unknown), and so is the
    // part of the new epoch no longer retained (above the start).
    const to = head.first - 1;
    if (to <= floor) return { stream, epoch, offset: floor, status: 'gap', reason: 'epoch' };
    return { stream, epoch, offset: to, status: 'gap', reason: 'epoch', from: floor + 1, to };
  }
  // A made-up epoch: ignore the cursor, start from the server's own (the later of the last
  // ack and the start, when of the current epoch; else the first retained offset).
  const own = Math.max(
    acked?.epoch === epoch ? acked.offset : -1,
    start?.epoch === epoch ? start.offset : -1,
  );
  const offset = own >= 0 ? Math.min(own, head.offset) : Math.max(head.first - 1, floor);
  return { stream, epoch, offset, status: 'gap', reason: 'unknown' };
}

/**
 * The entry of one stream of the new session a failed resume created (`reason`: the
 * `resumeError`): `new` at the head when the client sent no cursor for the stream, else a
 * `gap` at the head announcing what of the head's epoch the client will never receive.
 */
export function failedResumeStatus(
  stream: string,
  head: StreamHead,
  cursor: Position | undefined,
  reason: 'expired' | 'forbidden',
): StreamStatus {
  const { epoch, offset } = head;
  if (!cursor) return { stream, epoch, offset, status: 'new' };
  const lostFrom = cursor.epoch === epoch ? cursor.offset + 1 : 1;
  if (lostFrom > offset) return { stream, epoch, offset, status: 'gap', reason };
  return { stream, epoch, offset, status: 'gap', reason, from: lostFrom, to: offset };
}
