import type { ClientEnvironment } from './options.js';

/**
 * Listen to the page: `online` fires when the browser regains the network, `visible` when a
 * hidden page becomes visible. Returns a function that removes the listeners.
 */
export function watchEnvironment(
  env: ClientEnvironment,
  on: { online(): void; visible(): void },
): () => void {
  const doc = env.document ?? env;
  const online = () => on.online();
  const visibility = () => {
    if (env.document?.visibilityState !== 'hidden') on.visible();
  };
  env.addEventListener('online', online);
  doc.addEventListener('visibilitychange', visibility);
  return () => {
    env.removeEventListener('online', online);
    doc.removeEventListener('visibilitychange', visibility);
  };
}
