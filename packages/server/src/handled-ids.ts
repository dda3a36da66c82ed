/**
 * The handled client message ids of one session, with their answers (`res` frames), bounded
 * by count (`keep` ids) and by the bytes of the answers kept (`keepBytes`): over the bytes the
 * oldest answers become `''` ("handled, answer not kept") and their ids stay.
 */
export class HandledIds {
  /** Answers by id, oldest first (`''`: not kept). */
  readonly ids = new Map<string, string>();
  /** Bytes of the answers kept. */
  bytes = 0;
  /** Ids whose answer is kept, oldest first, from `head`. */
  private kept: string[] = [];
  private head = 0;

  /** The answer of `id` (`''` when not kept), or undefined when the id is not known. */
  get(id: string): string | undefined {
    return this.ids.get(id);
  }

  /** Remember `id` and its answer (the first answer of an id stands). */
  put(id: string, res: string, keep: number, keepBytes = Number.POSITIVE_INFINITY): void {
    const { ids } = this;
    if (ids.has(id)) return;
    const answer = res.length > keepBytes ? '' : res;
    ids.set(id, answer);
    if (answer !== '') {
      this.bytes += answer.length;
      this.kept.push(id);
    }
    // Maps iterate in insertion order: the first key is the oldest. `kept` is in the same order,
    // so an evicted id with an answer is always the first of `kept`.
    while (ids.size > keep) {
      const oldest = ids.keys().next().value as string;
      const answered = ids.get(oldest)!;
      ids.delete(oldest);
      if (answered !== '') {
        this.bytes -= answered.length;
        this.head += 1;
      }
    }
    while (this.bytes > keepBytes && this.head < this.kept.length) {
      const old = this.kept[this.head++]!;
      this.bytes -= ids.get(old)!.length;
      ids.set(old, '');
    }
    if (this.head > 64 && this.head * 2 > this.kept.length) {
      this.kept = this.kept.slice(this.head);
      this.head = 0;
    }
  }
}
