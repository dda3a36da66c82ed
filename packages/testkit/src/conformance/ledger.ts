import type { AnnouncedGap, Delivery } from './spec-client.js';

/** A message the server really stored: its stream, epoch and offset. */
export interface Published {
  stream: string;
  epoch: string;
  offset: number;
}

/** A position the client was told it holds (welcome entry, `sub`, `gap`), in arrival order with deliveries. */
export interface Told {
  stream: string;
  epoch: string;
  offset: number;
}

/** What a client did on one stream, in arrival order. */
export type StreamEvent =
  | { kind: 'delivered'; d: Delivery }
  | { kind: 'gap'; g: AnnouncedGap }
  | { kind: 'told'; c: Told };

/** The verdict on one stream: empty `problems` means exactly-once, in order, loss announced exactly. */
export interface StreamVerdict {
  stream: string;
  delivered: number;
  /** Published messages announced lost (inside a `from`..`to` range of their epoch). */
  announcedLost: number;
  /** Published messages of an epoch's tail dropped by an announced change of epoch or session. */
  tailLost: number;
  problems: string[];
}

const key = (epoch: string, offset: number) => `${epoch}#${offset}`;

/**
 * Check one stream of one client against what the server really published (docs/PROTOCOL.md
 * §9): no message delivered twice, offsets increasing within an epoch, no return to an epoch
 * left behind, nothing delivered that was announced lost, and every published message after the
 * first position the client held in its epoch either delivered or announced lost (a range of
 * its epoch, or the tail of an epoch the server announced the client moved away from).
 */
export function checkStream(
  stream: string,
  published: readonly Published[],
  events: readonly StreamEvent[],
): StreamVerdict {
  const problems: string[] = [];
  const pub = published.filter((p) => p.stream === stream);
  const pubKeys = new Set(pub.map((p) => key(p.epoch, p.offset)));
  const seen = new Set<string>();
  const lastOffset = new Map<string, number>();
  const firstHeld = new Map<string, number>();
  const epochOrder: string[] = [];
  const announced = new Set<string>();
  const tailFrom = new Map<string, number>();
  let current: string | undefined;
  let delivered = 0;
  const hold = (epoch: string, offset: number) => {
    if (!firstHeld.has(epoch) || firstHeld.get(epoch)! > offset) firstHeld.set(epoch, offset);
  };
  const enter = (epoch: string, announcedMove: boolean) => {
    if (current !== undefined && current !== epoch) {
      if (!announcedMove) problems.push(`moved from epoch ${current} to ${epoch} without an announcement`);
      else if (!tailFrom.has(current))
        tailFrom.set(current, lastOffset.get(current) ?? firstHeld.get(current) ?? 0);
      if (epochOrder.includes(epoch)) problems.push(`returned to epoch ${epoch}`);
    }
    if (!epochOrder.includes(epoch)) epochOrder.push(epoch);
    current = epoch;
  };
  for (const e of events) {
    if (e.kind === 'delivered') {
      const { epoch, offset } = e.d;
      const k = key(epoch, offset);
      if (seen.has(k)) problems.push(`delivered twice: ${k}`);
      if (announced.has(k)) problems.push(`delivered after being announced lost: ${k}`);
      if (!pubKeys.has(k)) problems.push(`delivered but never published: ${k}`);
      if ((lastOffset.get(epoch) ?? -1) >= offset)
        problems.push(`out of order: ${k} after ${lastOffset.get(epoch)}`);
      if (current !== undefined && current !== epoch) enter(epoch, false);
      else if (current === undefined) enter(epoch, true);
      if (!firstHeld.has(epoch)) hold(epoch, offset - 1);
      seen.add(k);
      lastOffset.set(epoch, offset);
      delivered += 1;
    } else if (e.kind === 'gap') {
      const g = e.g;
      enter(g.epoch, true);
      if (g.from !== undefined && g.to !== undefined) {
        for (let o = g.from; o <= g.to; o++) {
          const k = key(g.epoch, o);
          if (seen.has(k)) problems.push(`announced lost but delivered: ${k}`);
          announced.add(k);
        }
        hold(g.epoch, g.from - 1);
      } else hold(g.epoch, g.offset);
    } else {
      enter(e.c.epoch, current === undefined);
      hold(e.c.epoch, e.c.offset);
    }
  }
  let announcedLost = 0;
  let tailLost = 0;
  for (const p of pub) {
    const k = key(p.epoch, p.offset);
    if (seen.has(k)) continue;
    if (announced.has(k)) {
      announcedLost += 1;
      continue;
    }
    const start = firstHeld.get(p.epoch);
    if (start === undefined || p.offset <= start) continue; // before the client followed this epoch
    const tail = tailFrom.get(p.epoch);
    if (tail !== undefined && p.offset > tail) {
      tailLost += 1;
      continue;
    }
    problems.push(`lost without an announcement: ${k}`);
  }
  return { stream, delivered, announcedLost, tailLost, problems };
}
