import type { BenchResults, ScenarioResult } from '../harness.js';
import type { TargetName } from '../types.js';
import { COLORS, fmt, labelIn } from './names.js';

/** Which metrics of which scenarios the chart shows. */
const CHARTED: Record<string, string[]> = {
  echo: ['roundTripsPerSec', 'p50Ms'],
  memory: ['heapPerConnKiB', 'rssPerConnKiB'],
  storm: ['catchUpMs', 'peakRssMiB'],
};
const FANOUT = ['deliveriesPerSec', 'cpuUsPerDelivery', 'p99Ms'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Panel {
  title: string;
  unit: string;
  digits: number;
  /** How the ratios name the limit. */
  limitName: string;
  limit: TargetName;
  bars: {
    target: TargetName;
    label: string;
    median: number;
    min: number;
    max: number;
    vsLimit: number | undefined;
  }[];
}

function panels(s: ScenarioResult): Panel[] {
  const keys = CHARTED[s.id] ?? (s.id.startsWith('fanout') || s.id === 'multinode' ? FANOUT : []);
  const out: Panel[] = [];
  for (const key of keys) {
    const m = s.metrics.find((x) => x.key === key);
    if (!m) continue;
    const bars: Panel['bars'] = [];
    for (const [target, t] of Object.entries(s.targets) as [
      TargetName,
      NonNullable<ScenarioResult['targets'][TargetName]>,
    ][]) {
      const f = t.figures[key];
      if (f)
        bars.push({
          target,
          label: labelIn(s, target).replace(/`/g, ''),
          median: f.median,
          min: f.min,
          max: f.max,
          vsLimit: f.vsLimit,
        });
    }
    if (bars.length === 0) continue;
    out.push({
      title: `${s.title}: ${m.label} (${m.better} is better)`,
      unit: m.unit,
      digits: m.digits,
      limit: s.limit,
      limitName:
        s.limit === 'ws-cork' ? 'corked ws' : s.limit === 'ws' ? 'ws' : labelIn(s, s.limit).replace(/`/g, ''),
      bars,
    });
  }
  return out;
}

/** A bar chart (SVG) of the main medians, with min–max whiskers and the ratio to the limit. */
export function renderChart(results: BenchResults, subtitle: string): string {
  const all = results.scenarios.flatMap(panels);
  const W = 900;
  // Room for the longest target name (about 6.6 px per character at 12 px).
  const longest = Math.max(0, ...all.flatMap((p) => p.bars.map((b) => b.label.length)));
  const left = Math.max(170, Math.ceil(24 + 6.6 * longest));
  const right = 190;
  const barH = 18;
  const gap = 6;
  let y = 56;
  const parts: string[] = [];
  for (const p of all) {
    parts.push(`<text x="16" y="${y}" class="t">${esc(p.title)}</text>`);
    y += 10;
    const scale = Math.max(...p.bars.map((b) => b.max)) || 1;
    const width = W - left - right;
    for (const b of p.bars) {
      const w = Math.max(1, (b.median / scale) * width);
      const x0 = left + (b.min / scale) * width;
      const x1 = left + (b.max / scale) * width;
      const label = b.label;
      const ratio =
        b.target === p.limit || b.vsLimit === undefined ? '' : `  ${b.vsLimit.toFixed(2)}× ${p.limitName}`;
      parts.push(
        `<text x="${left - 8}" y="${y + 13}" class="l">${esc(label)}</text>`,
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[b.target]}"/>`,
        `<line x1="${x0.toFixed(1)}" x2="${x1.toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" class="w"/>`,
        `<text x="${(left + Math.max(w, x1 - left) + 6).toFixed(1)}" y="${y + 13}" class="v">${esc(`${fmt(b.median, p.digits)} ${p.unit}${ratio}`)}</text>`,
      );
      y += barH + gap;
    }
    y += 26;
  }
  const H = y;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    '<style>.t{font-size:14px;font-weight:600;fill:#222}.l{font-size:12px;text-anchor:end;fill:#333}.v{font-size:12px;fill:#333}.w{stroke:#222;stroke-width:1.5}.h{font-size:18px;font-weight:700}.s{font-size:12px;fill:#555}</style>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    '<text x="16" y="24" class="h">Holdfast vs raw ws and uWebSockets.js (the limits) vs Socket.IO (the peer)</text>',
    `<text x="16" y="42" class="s">${esc(subtitle)}. Bars: medians; whiskers: min–max.</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
