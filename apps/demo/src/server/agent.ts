import type { AgentEvent } from '../shared/protocol.js';

const AGENTS = ['planner', 'researcher', 'critic', 'writer'];
const THOUGHTS = [
  'reading the sources',
  'checking the numbers',
  'comparing two options',
  'looking for counter-examples',
  'drafting a paragraph',
  'tightening the argument',
];

/**
 * A simulated long-running job (the seeds' streaming reasoning / multi-agent council):
 * started, plan, `steps` steps with confidence and cost, final answer. Deterministic for a
 * given run id so tests can check exact content.
 */
export function* agentRun(runId: string, task: string, steps: number): Generator<AgentEvent> {
  yield { kind: 'started', runId, total: steps, task };
  yield { kind: 'plan', runId, steps: ['understand the task', 'gather facts', 'debate', 'answer'] };
  let cost = 0;
  for (let i = 1; i <= steps; i++) {
    const costUsd = Math.round((0.0004 + (i % 7) * 0.0001) * 1e6) / 1e6;
    cost += costUsd;
    yield {
      kind: 'step',
      runId,
      index: i,
      total: steps,
      agent: AGENTS[i % AGENTS.length]!,
      thought: `${THOUGHTS[i % THOUGHTS.length]} (step ${i})`,
      confidence: Math.min(0.99, 0.5 + (0.49 * i) / steps),
      costUsd,
    };
  }
  yield {
    kind: 'final',
    runId,
    answer: `Done: ${task} (${steps} steps)`,
    totalCostUsd: Math.round(cost * 1e6) / 1e6,
  };
}
