import type { Run, RunStep } from '../shared/protocol.js';
import { $, h } from './dom.js';

const AGENT_KEY = 'holdfast-demo:run';
const SCROLL_KEY = 'holdfast-demo:steps-scroll';

interface Saved {
  /** The run shown. */
  shown: string | undefined;
  /** Its value as last delivered, and whether it is done. */
  run: Run | undefined;
  done: boolean;
}

/** Tokens in an answer so far (each token is a word and its space). */
const tokensIn = (answer: string) => answer.split(' ').filter(Boolean).length;

const stepText = (s: RunStep) =>
  `#${s.index} ${s.agent}: ${s.thought} (confidence ${s.confidence.toFixed(2)}, $${s.costUsd.toFixed(4)})`;

/**
 * The agent panel: one run (the one this tab started or watches last) as its message grows: the
 * plan, progress, steps and the answer token by token. The SDK hands over the run folded so far
 * (after a reload or a late join too: a snapshot, then the rest live); the panel only draws it.
 * The shown run is also kept in sessionStorage, so a reload shows a finished run at once (an open
 * one is sent again by the server on resume), with the step list's scroll position.
 */
export class AgentPanel {
  readonly #runs = new Map<string, { run: Run; done: boolean }>();
  #shown: string | undefined;
  #drawnSteps = 0;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const saved = JSON.parse(sessionStorage.getItem(AGENT_KEY) ?? 'null') as Saved | null;
    if (saved?.shown && saved.run) {
      this.#shown = saved.shown;
      this.#runs.set(saved.shown, { run: saved.run, done: saved.done });
    }
    const list = $('steps');
    list.addEventListener('scroll', () => sessionStorage.setItem(SCROLL_KEY, String(list.scrollTop)), {
      passive: true,
    });
  }

  /** The run shown (its id is also its room's name). */
  get shown(): string | undefined {
    return this.#shown;
  }

  /** Show run `runId` (just started or watched): drawn as soon as its value is here. */
  show(runId: string): void {
    if (this.#shown === runId) return;
    this.#shown = runId;
    sessionStorage.removeItem(SCROLL_KEY);
    this.renderAll();
    this.#save(true);
  }

  /** Draw everything, and put the step list back where it was scrolled to. */
  renderAll(): void {
    const run = this.#current();
    const list = $('steps');
    list.replaceChildren(...(run?.run.steps ?? []).map((s) => h('li', {}, stepText(s))));
    this.#drawnSteps = run?.run.steps.length ?? 0;
    const top = sessionStorage.getItem(SCROLL_KEY);
    list.scrollTop = top === null ? list.scrollHeight : Number(top);
    this.#render();
  }

  /** A run's value, folded so far by the SDK (`done`: its message ended). */
  update(run: Run, done: boolean): void {
    this.#runs.set(run.runId, { run, done });
    if (run.runId !== this.#shown) return;
    const list = $('steps');
    if (run.steps.length < this.#drawnSteps) this.renderAll();
    else if (run.steps.length > this.#drawnSteps) {
      const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
      list.append(...run.steps.slice(this.#drawnSteps).map((s) => h('li', {}, stepText(s))));
      this.#drawnSteps = run.steps.length;
      if (atBottom) list.scrollTop = list.scrollHeight; // follow the run unless the reader scrolled up
    }
    this.#render();
    this.#save(done);
  }

  /** Forget runs other than the shown one (their rooms were left). */
  prune(): void {
    for (const id of this.#runs.keys()) if (id !== this.#shown) this.#runs.delete(id);
  }

  #current() {
    return this.#shown === undefined ? undefined : this.#runs.get(this.#shown);
  }

  /** Saved at once when done (or shown), else at most 4 times a second (a snapshot resends an open run). */
  #save(now: boolean): void {
    const write = () => {
      this.#saveTimer = undefined;
      const cur = this.#current();
      const saved: Saved = { shown: this.#shown, run: cur?.run, done: cur?.done ?? false };
      sessionStorage.setItem(AGENT_KEY, JSON.stringify(saved));
    };
    if (now) {
      clearTimeout(this.#saveTimer);
      write();
    } else this.#saveTimer ??= setTimeout(write, 250);
  }

  #render(): void {
    const cur = this.#current();
    const run = cur?.run;
    const bar = $('progress');
    const tokens = run ? tokensIn(run.answer) : 0;
    const pct = run
      ? Math.round((100 * (run.steps.length + tokens)) / Math.max(1, run.total + run.tokens))
      : 0;
    const shownPct = String(cur?.done ? 100 : Math.min(99, pct));
    bar.style.width = `${shownPct}%`;
    bar.setAttribute('aria-valuenow', shownPct);
    const end =
      run?.totalCostUsd !== undefined
        ? ` — ${run.stopped ? 'stopped' : 'done'}, total $${run.totalCostUsd.toFixed(4)}`
        : '';
    $('run-status').textContent = run
      ? `${run.runId}: ${run.steps.length} / ${run.total} steps, ${tokens} / ${run.tokens} tokens${end}`
      : this.#shown
        ? `${this.#shown}: waiting for the run…`
        : 'No run yet.';
    $('run-id').textContent = this.#shown ?? '';
    $('plan').textContent = run?.plan.length ? `Plan: ${run.plan.join(' → ')}` : '';
    $('answer').textContent = run?.answer ?? '';
    $('answer').dataset.done = String(cur?.done ?? false);
  }
}
