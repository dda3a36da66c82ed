import type { GapEvent, MessageMeta, WelcomeEvent } from '@holdfast/client';

interface Round {
  /** Per stream, the offset the server resumed after (what this page had already). */
  after: Map<string, number>;
  /** Per stream, the offsets the replay covers, once the server's report is in. */
  ranges: { stream: string; from: number; to: number }[] | undefined;
  /** Offsets received since the resume, per stream. */
  got: Map<string, Set<number>>;
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
 * arrived exactly once (a duplicate is an offset at or below one already delivered to the app;
 * a gap is an offset announced lost). Reports once every covered offset is accounted for.
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
    this.#round = { after, ranges: undefined, got: new Map(), lost: new Map(), duplicates: 0, gaps: 0 };
    for (const s of w.streams)
      if (s.status === 'gap') this.#lose(s.stream, s.from ?? s.offset + 1, s.to ?? s.from ?? s.offset + 1);
  }

  /** A stream message delivered to the app. */
  message(meta: MessageMeta): void {
    const { stream, offset } = meta;
    if (stream === undefined || offset === undefined) return;
    const r = this.#round;
    const last = Math.max(this.#seen.get(stream) ?? 0, r?.after.get(stream) ?? 0);
    if (r) {
      if (offset <= last || r.got.get(stream)?.has(offset)) r.duplicates += 1;
      else {
        const got = r.got.get(stream) ?? new Set();
        got.add(offset);
        r.got.set(stream, got);
      }
    }
    this.#seen.set(stream, Math.max(last, offset));
    // Offsets arrive in order per stream: only the end of a range can complete the round.
    if (r?.ranges?.some((x) => x.stream === stream && offset >= x.to)) this.#check();
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
      for (let o = Math.max(from, (r.after.get(stream) ?? 0) + 1); o <= to; o++) {
        if (got?.has(o)) replayed += 1;
        else if (!lost?.has(o)) return; // still on its way
      }
    }
    this.#round = undefined;
    this.onDone({ replayed, duplicates: r.duplicates, gaps: r.gaps });
  }
}
