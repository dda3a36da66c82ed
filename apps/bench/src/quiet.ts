/**
 * Other processes on a shared machine skew a run. Before each run, wait (a bounded time) until
 * the machine is nearly idle, and record how busy it was.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

function busyJiffies(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Fraction of all cores busy over `ms`, or undefined where /proc/stat is missing. */
export async function machineBusy(ms = 300): Promise<number | undefined> {
  const a = busyJiffies();
  await new Promise((r) => setTimeout(r, ms));
  const b = busyJiffies();
  if (!a || !b || b.total === a.total) return undefined;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Wait until less than `threshold` of the machine is busy, for at most `maxWaitMs`.
 * Returns the last busy fraction measured.
 */
export async function waitForQuiet(threshold = 0.15, maxWaitMs = 60_000): Promise<number | undefined> {
  const end = Date.now() + maxWaitMs;
  for (;;) {
    const busy = await machineBusy();
    if (busy === undefined || busy < threshold || Date.now() > end) return busy;
    await new Promise((r) => setTimeout(r, 700 + 300 * cpus().length));
  }
}

/** CPU ticks of this process and its reaped children (the server and load generator), from /proc/self/stat. */
function ownTicks(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the ")" closing the command name: state is field 3; utime..cstime are 14..17.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc (USER_HZ: 100 on Linux). */
const TICKS_PER_SEC = 100;

/**
 * Measure how much CPU processes other than this one and its children used while a run went on.
 * Call before the run; the returned function gives the share of the whole machine (0..1) they
 * took, once the run's children have exited. `ownUs`: CPU (µs) of another process that worked for
 * the run (Redis in the multi-node scenario), not counted as foreign either.
 */
export function foreignLoadMeter(): (ownUs?: number) => number | undefined {
  const a = busyJiffies();
  const own = ownTicks();
  return (ownUs = 0) => {
    const b = busyJiffies();
    const own2 = ownTicks();
    if (!a || !b || own === undefined || own2 === undefined || b.total === a.total) return undefined;
    const extra = (ownUs / 1e6) * TICKS_PER_SEC;
    return Math.max(0, (b.busy - a.busy - (own2 - own) - extra) / (b.total - a.total));
  };
}
