/**
 * The live frames of one stream's fan-out in one tick, shared by its recipients: a socket that
 * gets a contiguous span of them is written the span as one buffer at the end of the tick,
 * built once for every socket with the same span (see `Outbound.joinRun`).
 */
export class TickRun {
  /** The frames, in the order they were delivered. */
  readonly frames: Buffer[] = [];
  /** `ends[i]`: bytes of frames `0..i-1` (`ends[0]` is 0). */
  readonly ends: number[] = [0];
  /** Concatenated spans already built, by `start * SPAN + end`. */
  private spans: Map<number, Buffer> | undefined;

  /** Bytes of all the frames. */
  get bytes(): number {
    return this.ends[this.frames.length]!;
  }

  /** Add a frame; returns its index. */
  push(frame: Buffer): number {
    const i = this.frames.length;
    this.frames.push(frame);
    this.ends.push(this.ends[i]! + frame.length);
    return i;
  }

  /** Bytes of frames `start..end-1`. */
  bytesOf(start: number, end: number): number {
    return this.ends[end]! - this.ends[start]!;
  }

  /** Frames `start..end-1` as one buffer (built once per span, whatever the number of sockets). */
  span(start: number, end: number): Buffer {
    if (end - start === 1) return this.frames[start]!;
    const key = start * MAX_RUN_FRAMES + end;
    this.spans ??= new Map();
    let buf = this.spans.get(key);
    if (buf === undefined) {
      buf = Buffer.concat(this.frames.slice(start, end), this.bytesOf(start, end));
      this.spans.set(key, buf);
    }
    return buf;
  }
}

/** Frames per run at most (a longer tick starts a new run; the span key needs it bounded). */
export const MAX_RUN_FRAMES = 65_536;
