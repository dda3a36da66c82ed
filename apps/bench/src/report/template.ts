/** The hand-written frame of a new BENCHMARKS.md; the generated results go in the middle. */
export function template(generated: string): string {
  return `# Holdfast benchmarks

How close Holdfast stays to raw \`ws\` (the limit) and how it compares with Socket.IO v4 (the peer),
measured in one reproducible run: \`pnpm bench\` at the repository root.

${generated}
`;
}
