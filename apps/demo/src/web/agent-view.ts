import type { AgentEvent } from '../shared/protocol.js';
import { $, h } from './dom.js';

const AGENT_KEY = 'holdfast-demo:agent';
const SCROLL_KEY = 'holdfast-demo:steps-scroll';

interface AgentView {
  runId: string;
  total: number;
  plan: string[];
  steps: string[];
  answer: string;
}

/**
 * The agent panel: the run's plan, progress, steps and answer. What was delivered is kept in
 * sessionStorage (saved in the same task as the client saves its cursor, so a reload shows
 * exactly what was delivered), with the step list's scroll position.
 */
export class AgentPanel {
  #agent: AgentView | undefined;

  constructor() {
    const saved = JSON.parse(sessionStorage.getItem(AGENT_KEY) ?? 'null') as AgentView | null;
    this.#agent = saved ? { ...saved, plan: saved.plan ?? [] } : undefined;
    const list = $('steps');
    list.addEventListener('scroll', () => sessionStorage.setItem(SCROLL_KEY, String(list.scrollTop)), {
      passive: true,
    });
  }

  /** Draw everything, and put the step list back where it was scrolled to. */
  renderAll(): void {
    this.#render();
    const list = $('steps');
    list.replaceChildren(...(this.#agent?.steps ?? []).map((s) => h('li', {}, s)));
    const top = sessionStorage.getItem(SCROLL_KEY);
    list.scrollTop = top === null ? list.scrollHeight : Number(top);
  }

  /** An event of a run. */
  on(ev: AgentEvent): void {
    if (ev.kind === 'started') {
      this.#agent = { runId: ev.runId, total: ev.total, plan: [], steps: [], answer: '' };
      sessionStorage.removeItem(SCROLL_KEY);
      this.renderAll();
    } else if (this.#agent && ev.runId === this.#agent.runId) {
      const agent = this.#agent;
      if (ev.kind === 'step') {
        const text = `#${ev.index} ${ev.agent}: ${ev.thought} (confidence ${ev.confidence.toFixed(2)}, $${ev.costUsd.toFixed(4)})`;
        agent.steps.push(text);
        const list = $('steps');
        const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
        list.append(h('li', {}, text));
        if (atBottom) list.scrollTop = list.scrollHeight; // follow the run unless the reader scrolled up
      } else if (ev.kind === 'final') {
        agent.answer = `${ev.answer} — total $${ev.totalCostUsd.toFixed(4)}`;
      } else if (ev.kind === 'plan') {
        agent.plan = ev.steps;
      }
      this.#render();
    }
    sessionStorage.setItem(AGENT_KEY, JSON.stringify(this.#agent ?? null));
  }

  #render(): void {
    const agent = this.#agent;
    const bar = $('progress');
    const pct = agent ? Math.round((100 * agent.steps.length) / agent.total) : 0;
    bar.style.width = `${pct}%`;
    bar.setAttribute('aria-valuenow', String(pct));
    $('run-status').textContent = agent
      ? `${agent.runId}: ${agent.steps.length} / ${agent.total} steps${agent.answer ? ' — done' : ''}`
      : 'No run yet.';
    $('plan').textContent = agent?.plan.length ? `Plan: ${agent.plan.join(' → ')}` : '';
    $('answer').textContent = agent?.answer ?? '';
  }
}
