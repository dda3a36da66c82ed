import type { TargetName } from '../types.js';

/** How targets are named in tables and charts. */
export function targetLabel(t: TargetName, versions: Record<string, string> = {}): string {
  switch (t) {
    case 'ws-frame':
      return '`ws` frame-once';
    case 'ws-cork':
      return '`ws` corked';
    case 'uws':
      return 'uWebSockets.js';
    case 'ws':
      return '`ws` naive';
    case 'socketio':
      return `Socket.IO ${versions['socket.io'] ?? 'v4'}`;
    case 'holdfast':
      return 'Holdfast';
    case 'holdfast-redis':
      return 'Holdfast on Redis';
    case 'holdfast-cluster':
      return 'Holdfast, nodes on Redis';
    case 'holdfast-plain':
      return 'Holdfast, plain messages';
  }
}

/** A target's name in one scenario: the scenario's own label if it has one, else {@link targetLabel}. */
export function labelIn(
  s: { labels?: Partial<Record<TargetName, string>> },
  t: TargetName,
  versions: Record<string, string> = {},
): string {
  return s.labels?.[t] ?? targetLabel(t, versions);
}

/** Chart colours per target. */
export const COLORS: Record<TargetName, string> = {
  'ws-cork': '#515a5a',
  uws: '#1e8449',
  'ws-frame': '#7f8c8d',
  ws: '#b2babb',
  socketio: '#2e86c1',
  holdfast: '#d35400',
  'holdfast-redis': '#eb984e',
  'holdfast-cluster': '#873600',
  'holdfast-plain': '#f5cba7',
};

/** Format a number with `digits` decimals and thousands separators. */
export function fmt(v: number | undefined, digits: number): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Format a ratio like `0.93×`. */
export function ratio(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(2)}×`;
}
