import type { GapEvent, HoldfastClient } from '@holdfast/client';
import type { HoldfastServer } from '@holdfast/server';
import type { App } from './app.js';
import { pause } from './fixture.js';
import { checkSequence, Handled, Received, type SequenceCheck } from './ledger.js';

/** One client of a traffic run and everything observed about it. */
export interface Peer {
  name: string;
  client: HoldfastClient<App>;
  /** Ticks the app was handed, per logical stream (`direct`, `room`). */
  received: Received;
  /** Notes whose `send()` resolved. */
  resolved: Set<number>;
  /** Notes whose `send()` rejected (must stay empty). */
  rejected: { k: number; error: unknown }[];
  gaps: GapEvent[];
  welcomes: { resumed: boolean; at: number }[];
  /** Sessions the client had (one unless a session was lost). */
  sessions: Set<string>;
}

/** Attach the recorders to a client (before it connects). */
export function peer(name: string, client: HoldfastClient<App>): Peer {
  const p: Peer = {
    name,
    client,
    received: new Received(),
    resolved: new Set(),
    rejected: [],
    gaps: [],
    welcomes: [],
    sessions: new Set(),
  };
  client.on('tick', ({ s, n }) => p.received.add(s, n));
  client.events.on('gap', (g) => p.gaps.push(g));
  client.events.on('welcome', (w) => {
    p.welcomes.push({ resumed: w.resumed, at: Date.now() });
    p.sessions.add(w.sessionId);
  });
  return p;
}

/** Count the handler runs of `note` per sender and message number. */
export function recordNotes(server: HoldfastServer<App>): Handled {
  const handled = new Handled();
  server.handle('note', ({ c, k }) => {
    handled.add(c, k);
    return k;
  });
  server.handle('echo', ({ n }) => n);
  return handled;
}

/**
 * Client to server: send notes `first`..`first + count - 1`, at most `window` unanswered at
 * once, about `ratePerSec` per second. Resolves when every send has settled.
 */
export async function sendNotes(
  p: Peer,
  count: number,
  {
    window = 50,
    ratePerSec = 200,
    pad,
    first = 1,
  }: { window?: number; ratePerSec?: number; pad?: string; first?: number } = {},
): Promise<void> {
  let outstanding = 0;
  let freed: (() => void) | undefined;
  const all: Promise<void>[] = [];
  const batch = Math.max(1, Math.round(ratePerSec / 20));
  for (let k = first; k < first + count; k++) {
    while (outstanding >= window) await new Promise<void>((resolve) => (freed = resolve));
    outstanding++;
    const data = pad === undefined ? { c: p.name, k } : { c: p.name, k, pad };
    all.push(
      p.client
        .send('note', data)
        .then(
          () => {
            p.resolved.add(k);
          },
          (error: unknown) => {
            p.rejected.push({ k, error });
          },
        )
        .finally(() => {
          outstanding--;
          freed?.();
          freed = undefined;
        }),
    );
    if (k % batch === 0) await pause(50);
  }
  await Promise.all(all);
}

/**
 * Server to client: `count` ticks on each peer's session stream (`direct`) and `count` on a room
 * (`room`), about `ratePerSec` per stream. Every publish resolves once the message is stored.
 */
export async function pumpTicks(
  server: HoldfastServer<App>,
  peers: readonly Peer[],
  sessionIds: ReadonlyMap<string, string>,
  count: number,
  { room, ratePerSec = 200, pad }: { room?: string; ratePerSec?: number; pad?: string } = {},
): Promise<void> {
  const batch = Math.max(1, Math.round(ratePerSec / 20));
  for (let n = 1; n <= count; n++) {
    const data = pad === undefined ? { n } : { n, pad };
    for (const p of peers) {
      const sid = sessionIds.get(p.name)!;
      const reached = await server.sendToSession(sid, 'tick', { s: 'direct', ...data });
      if (reached !== 1) throw new Error(`session of ${p.name} is gone`);
    }
    if (room !== undefined) await server.sendToRoom(room, 'tick', { s: 'room', ...data });
    if (n % batch === 0) await pause(50);
  }
}

/** The per-id verdict of a traffic run. */
export interface Verdict {
  /** Per peer and stream: what arrived against what was published. */
  delivered: Record<string, Record<string, SequenceCheck>>;
  /** Client to server: sent, resolved, handled twice, handled out of order, resolved but never handled. */
  notes: {
    sent: number;
    resolved: number;
    rejected: number;
    handledTwice: number;
    outOfOrder: number;
    resolvedNotHandled: number;
  };
  /** Server to client messages handed to the apps, all peers. */
  messagesChecked: number;
  gaps: number;
}

/** Compare what was observed with what was sent, per message id. */
export function verdict(
  peers: readonly Peer[],
  handled: Handled,
  expected: { notes: number; streams: Record<string, number> },
): Verdict {
  const delivered: Verdict['delivered'] = {};
  let messagesChecked = 0;
  let gaps = 0;
  let resolved = 0;
  let rejected = 0;
  let outOfOrder = 0;
  let resolvedNotHandled = 0;
  for (const p of peers) {
    delivered[p.name] = {};
    for (const [stream, count] of Object.entries(expected.streams)) {
      const check = checkSequence(p.received.get(stream), count);
      delivered[p.name]![stream] = check;
      messagesChecked += check.received;
    }
    gaps += p.gaps.length;
    resolved += p.resolved.size;
    rejected += p.rejected.length;
    outOfOrder += checkSequence(handled.order.get(p.name) ?? []).outOfOrder;
    for (const k of p.resolved) if (handled.count(p.name, k) === 0) resolvedNotHandled++;
  }
  return {
    delivered,
    notes: {
      sent: expected.notes * peers.length,
      resolved,
      rejected,
      handledTwice: handled.twice().length,
      outOfOrder,
      resolvedNotHandled,
    },
    messagesChecked,
    gaps,
  };
}

/** True when every stream of every peer arrived complete, once, in order. */
export function allDelivered(v: Verdict): boolean {
  return Object.values(v.delivered).every((streams) =>
    Object.values(streams).every((c) => c.missing === 0 && c.duplicates === 0 && c.outOfOrder === 0),
  );
}
