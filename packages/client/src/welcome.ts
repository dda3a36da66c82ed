import type { Cursor, WelcomeFrame } from '@holdfast/protocol';
import type { GapEvent } from './events.js';

/**
 * The gaps a `welcome` reveals: every stream it lists with a `gap` status and, when the
 * resume failed (`resumeError`), every stream the client held (`previous`) that it does not
 * list as a gap.
 */
export function welcomeGaps(w: WelcomeFrame, previous: readonly Cursor[]): GapEvent[] {
  const gaps: GapEvent[] = [];
  for (const { stream, epoch, status, from, to, reason = 'unknown' } of w.streams) {
    if (status === 'gap') gaps.push({ stream, epoch, from, to, reason, source: 'welcome' });
  }
  for (const { stream, epoch } of w.resumeError ? previous : []) {
    if (!gaps.some((g) => g.stream === stream)) {
      gaps.push({ stream, epoch, reason: w.resumeError!, source: 'welcome' });
    }
  }
  return gaps;
}
