import type { GapEvent, MessageMeta, WelcomeEvent } from '@holdfast/client';

/** What the page learns of each delivered message (growing ones add `key`, `start`, `delta`). */
export type ProofMeta = MessageMeta & {
  key?: string | undefined;
  start?: number | undefined;
  delta?: unknown;
};

interface Round {
  /** Per stream, the offset the server resumed after (what this page had already). */
  after: Map<string, number>;
  /** Per stream, the offsets the replay covers, once the server's report is in. */
  ranges: { stream: string; from: number; to: number }[] | undefined;
  /** Offsets delivered since the resume, per stream. */
  got: Map<string, Set<number>>;
  /** Per stream, the highest offset a snapshot delivered since the resume stands for. */
  folded: Map<string, number>;
  /** Growing messages whose start or snapshot was applied since the resume (by key). */
  replaced: Set<string>;
  /** Streams the page asked to see again (a join with rewind): their old messages are no duplicates. */
  rewound: Set<string>;
  /** Offsets announced lost, per stream. */
  lost: Map<string, Set<number>>;
  duplicates: number;
  gaps: number;
}

/** The outcome of a resume, in numbers. */
export interface Proof {
  replayed: number;
  duplicates: number;
  gaps: number;
}

/**
 * Checks, on the page, what a resume delivered: every offset the server says the replay covers
 * arrived exactly once, or was folded into a growing message's snapshot (PROTOCOL.md §10.2), or
 * was announced lost. A duplicate is a plain message at or below one already delivered, an offset
 * delivered twice, or an append at or below the resume point folded again without a snapshot
 * replacing its message first. Reports once every covered offset is accounted for.
 */
export class ResumeProof {
  readonly #seen = new Map<string, number>(); // stream -> highest offset delivered to the app
  #round: Round | undefined;

  constructor(private readonly onDone: (proof: Proof) => void) {}

  /** A `welcome`: a resume starts a new round, a new session none. */
  welcome(w: WelcomeEvent): void {
    if (!w.resumed) {
      this.#round = undefined;
      return;
    }
    const after = new Map<string, number>();
    for (const s of w.streams) after.set(s.stream, s.offset);
    this.#round = {
      after,
      ranges: undefined,
      got: new Map(),
      folded: new Map(),
      replaced: new Set(),
      rewound: new Set(),
      lost: new Map(),
      duplicates: 0,
      gaps: 0,
    };
    for (const s of w.streams)
      if (s.status === 'gap') this.#lose(s.stream, s.from ?? s.offset + 1, s.to ?? s.from ?? s.offset + 1);
  }

  /** The page asks for a stream's recent past again (a join with `rewind`). */
  rewinding(stream: string): void {
    this.#round?.rewound.add(stream);
  }

  /** A stream message delivered to the app. */
  message(meta: ProofMeta): void {
    const { stream, offset } = meta;
    if (stream === undefined || offset === undefined) return;
    const r = this.#round;
    const last = Math.max(this.#seen.get(stream) ?? 0, r?.after.get(stream) ?? 0);
    this.#seen.set(stream, Math.max(last, offset));
    if (!r) return;
    const got = r.got.get(stream) ?? new Set<number>();
    r.got.set(stream, got);
    if (meta.key !== undefined && meta.delta === undefined) {
      // A start or a snapshot: it replaces the message's value, standing for the offsets it folded.
      r.replaced.add(meta.key);
      r.folded.set(stream, Math.max(r.folded.get(stream) ?? 0, offset));
      got.add(offset);
    } else if (meta.key !== undefined) {
      const again = offset <= (r.after.get(stream) ?? 0) && !r.replaced.has(meta.key);
      if (got.has(offset) || again) r.duplicates += 1;
      got.add(offset);
    } else {
      const asked = r.rewound.has(stream) && offset <= (r.after.get(stream) ?? 0);
      if (got.has(offset) || (offset <= last && !asked)) r.duplicates += 1;
      got.add(offset);
    }
    if (r.ranges?.some((x) => x.stream === stream && offset >= x.to)) this.#check();
  }

  /** The server's report of what the replay covers. */
  report(ranges: { stream: string; from: number; to: number }[]): void {
    if (!this.#round || this.#round.ranges) return;
    this.#round.ranges = ranges;
    this.#check();
  }

  /** A gap: those offsets will never come. */
  gap(g: GapEvent): void {
    if (g.from !== undefined) this.#lose(g.stream, g.from, g.to ?? g.from);
    else if (this.#round) this.#round.gaps += 1;
    this.#check();
  }

  #lose(stream: string, from: number, to: number): void {
    const r = this.#round;
    if (!r) return;
    const lost = r.lost.get(stream) ?? new Set();
    for (let o = from; o <= to && o - from < 100_000; o++) lost.add(o);
    r.lost.set(stream, lost);
    r.gaps += to - from + 1;
  }

  #check(): void {
    const r = this.#round;
    if (!r?.ranges) return;
    let replayed = 0;
    for (const { stream, from, to } of r.ranges) {
      const got = r.got.get(stream);
      const lost = r.lost.get(stream);
      const folded = r.folded.get(stream) ?? 0;
      for (let o = Math.max(from, (r.after.get(stream) ?? 0) + 1); o <= to; o++) {
        if (got?.has(o) || o <= folded) replayed += 1;
        else if (!lost?.has(o)) return; // still on its way
      }
    }
    this.#round = undefined;
    this.onDone({ replayed, duplicates: r.duplicates, gaps: r.gaps });
  }
}
