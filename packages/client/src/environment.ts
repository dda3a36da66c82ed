import type { ClientEnvironment } from './options.js';

/**
 * Listen to the page: `online` when the browser regains the network, `visible` when a hidden
 * page becomes visible. Returns a function that removes the listeners.
 */
export function watchEnvironment(
  env: ClientEnvironment,
  wake: (why: 'online' | 'visible') => void,
): () => void {
  const doc = env.document ?? env;
  const online = () => wake('online');
  const visibility = () => {
    if (env.document?.visibilityState !== 'hidden') wake('visible');
  };
  env.addEventListener('online', online);
  doc.addEventListener('visibilitychange', visibility);
  return () => {
    env.removeEventListener('online', online);
    doc.removeEventListener('visibilitychange', visibility);
  };
}
