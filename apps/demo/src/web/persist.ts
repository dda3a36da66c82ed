import { $ } from './dom.js';

const KEY = 'holdfast-demo:input:';

/** Keep these inputs' values across reloads (sessionStorage: this tab only). */
export function keepInputs(ids: string[]): void {
  for (const id of ids) {
    const input = $(id) as HTMLInputElement;
    const saved = sessionStorage.getItem(KEY + id);
    if (saved !== null) input.value = saved;
    input.addEventListener('input', () => saveInput(input));
  }
}

/** Save an input's value after the page changed it (no `input` event fires then). */
export function saveInput(input: HTMLInputElement): void {
  sessionStorage.setItem(KEY + (input.dataset.testid ?? input.name), input.value);
}
