const WORDS = [
  'the',
  'week',
  'shipped',
  'three',
  'fixes',
  'and',
  'one',
  'feature',
  'while',
  'reviews',
  'took',
  'longer',
  'than',
  'planned',
  'because',
  'tests',
  'found',
  'a',
  'race',
  'in',
  'resume',
];

/**
 * The answer of a run of `task`, as the tokens the agent streams (deterministic, so a test can
 * check the text a page shows against the text that was sent, token for token). Every token is
 * a word and its space; a sentence ends every twelve tokens.
 */
export function answerTokens(task: string, count: number): string[] {
  const out: string[] = [];
  const seed = [...task].reduce((a, c) => (a * 31 + c.charCodeAt(0)) % 9973, 7);
  for (let i = 0; i < count; i++) {
    const word = WORDS[(seed + i * 5) % WORDS.length]!;
    const first = i % 12 === 0;
    const last = i % 12 === 11 || i === count - 1;
    out.push(
      `${first ? word[0]!.toUpperCase() + word.slice(1) : word}${last ? '.' : ''}${i === count - 1 ? '' : ' '}`,
    );
  }
  return out;
}
