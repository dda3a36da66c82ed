/**
 * Sizes of the suite. The default fits CI (the whole chaos project in about two minutes on two
 * cores). `SOAK=1` multiplies message counts and durations by 10; `CHAOS_SCALE=N` sets the
 * factor directly (e.g. `CHAOS_SCALE=3`).
 */
export const SOAK = process.env.SOAK === '1';

/** The factor applied to counts and durations. */
export const SCALE = Math.max(0.1, Number(process.env.CHAOS_SCALE ?? (SOAK ? 10 : 1)) || 1);

/** `n` scaled, at least 1. */
export function scaled(n: number): number {
  return Math.max(1, Math.round(n * SCALE));
}

/** fast-check runs per property: scaled, bounded. */
export function runs(n: number): number {
  return Math.max(5, Math.min(5000, scaled(n)));
}
