/** Find an element by its data-testid (they double as the UI's own hooks). */
export function $(id: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`missing element ${id}`);
  return el;
}

/** Create an element with text and attributes. */
export function h(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** A random id for nonces. */
export function nonce(): string {
  return Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
}
