import { answerTokens } from '../shared/answer.js';
import type { Run, RunDelta } from '../shared/protocol.js';

const AGENTS = ['planner', 'researcher', 'critic', 'writer'];
const THOUGHTS = [
  'reading the sources',
  'checking the numbers',
  'comparing two options',
  'looking for counter-examples',
  'drafting a paragraph',
  'tightening the argument',
];

/** A run before its first delta: the value its message starts with. */
export function runStart(runId: string, task: string, steps: number, tokens: number): Run {
  return { runId, task, total: steps, tokens, plan: [], steps: [], answer: '' };
}

/**
 * A simulated long-running job (the seeds' streaming reasoning / multi-agent council), as the
 * appends of its message: the plan, `steps` steps with confidence and cost, the answer token by
 * token, then the total cost (the last delta, sent with `end`). Deterministic for a given task,
 * so tests can check exact content.
 */
export function* agentRun(task: string, steps: number, tokens: number): Generator<RunDelta> {
  yield { kind: 'plan', steps: ['understand the task', 'gather facts', 'debate', 'answer'] };
  let cost = 0;
  for (let i = 1; i <= steps; i++) {
    const costUsd = Math.round((0.0004 + (i % 7) * 0.0001) * 1e6) / 1e6;
    cost += costUsd;
    yield {
      kind: 'step',
      step: {
        index: i,
        agent: AGENTS[i % AGENTS.length]!,
        thought: `${THOUGHTS[i % THOUGHTS.length]} (step ${i})`,
        confidence: Math.min(0.99, 0.5 + (0.49 * i) / steps),
        costUsd,
      },
    };
  }
  for (const text of answerTokens(task, tokens)) yield { kind: 'token', text };
  yield { kind: 'final', totalCostUsd: Math.round(cost * 1e6) / 1e6 };
}
