/**
 * The messages every target carries, identical in content: a 150-byte JSON tick for fan-out and
 * a 150-byte echo request. Times come from the monotonic clock, which all processes on one
 * machine share, so a latency is a plain subtraction across processes.
 */

/** A fan-out message. `ch` is the channel (room or `*` for broadcast), `id` its sequence number. */
export interface Tick {
  ch: string;
  id: number;
  /** When the message was due to be sent (monotonic ms, see {@link nowMs}). */
  ts: number;
  text: string;
}

/** An echo request (and response). */
export interface Echo {
  seq: number;
  text: string;
}

/** Size of a serialized tick or echo body, in bytes. */
export const PAYLOAD_BYTES = 150;

/** The channel of broadcast ticks. */
export const BROADCAST = '*';

const FILLER = 'The quick brown fox jumps over the lazy dog, again and again, '.repeat(8);

/** Monotonic milliseconds (CLOCK_MONOTONIC, shared by every process of the machine), µs precision. */
export function nowMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + Math.round(ns / 1e3) / 1e3;
}

/** A tick whose JSON is exactly {@link PAYLOAD_BYTES} long. */
export function makeTick(ch: string, id: number, ts: number): Tick {
  const base = JSON.stringify({ ch, id, ts, text: '' }).length;
  return { ch, id, ts, text: FILLER.slice(0, Math.max(0, PAYLOAD_BYTES - base)) };
}

/** An echo request whose JSON is exactly {@link PAYLOAD_BYTES} long. */
export function makeEcho(seq: number): Echo {
  const base = JSON.stringify({ seq, text: '' }).length;
  return { seq, text: FILLER.slice(0, Math.max(0, PAYLOAD_BYTES - base)) };
}
