import { $ } from './dom.js';

const NAME_KEY = 'holdfast-demo:name';
const SECRET_KEY = 'holdfast-demo:secret';

/**
 * This browser's secret: the first browser to sign in with a name holds it (for the server's
 * lifetime); another browser is refused that name. Kept in localStorage, shared by its tabs.
 */
function browserSecret(): string {
  let secret = localStorage.getItem(SECRET_KEY);
  if (!secret) {
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    secret = btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    localStorage.setItem(SECRET_KEY, secret);
  }
  return secret;
}

/** A signed-in user's token. */
export interface Login {
  token: string;
  user: string;
  expiresAt: number;
}

/** Sign in as `name` with this browser's secret. */
export async function login(name: string): Promise<Login> {
  const res = await fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, secret: browserSecret() }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? `sign-in failed (${res.status})`);
  return body as Login;
}

/** The name this tab signed in with, or ask for one (checked by signing in). */
export function askName(): Promise<string> {
  const saved = sessionStorage.getItem(NAME_KEY);
  if (saved) return Promise.resolve(saved);
  const dialog = $('login') as HTMLDialogElement;
  const form = document.getElementById('login-form') as HTMLFormElement;
  dialog.showModal();
  return new Promise((resolve) => {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const name = String(new FormData(form).get('name') ?? '').trim();
      try {
        await login(name);
        sessionStorage.setItem(NAME_KEY, name);
        dialog.close();
        resolve(name);
      } catch (err) {
        $('login-error').textContent = (err as Error).message;
      }
    });
  });
}
