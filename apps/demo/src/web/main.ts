import {
  appends,
  type ConnectionState,
  createClient,
  type HoldfastClient,
  tokenRefresh,
  webStorage,
} from '@holdfast/client';
import { HoldfastError } from '@holdfast/protocol';
import { type ChatLine, type Demo, demo, RoomName } from '../shared/protocol.js';
import { AgentPanel } from './agent-view.js';
import { $, h, nonce } from './dom.js';
import { DemoNetwork } from './net.js';
import { keepInputs, saveInput } from './persist.js';
import { ResumeProof } from './proof.js';
import { askName, login } from './signin.js';
import { closeWords, stateWords } from './words.js';

// ------------------------------------------------------------------ state

type Mark = 'queued' | 'sent' | 'handled' | 'error';
interface Own {
  nonce: string;
  room: string;
  text: string;
  mark: Mark;
  error?: string;
  id?: string; // the client message id, for restored (persisted) messages
}

const lines = new Map<string, ChatLine[]>(); // room -> lines in stream order
const own = new Map<string, Own>(); // nonce -> own message
const members = new Map<string, Map<string, number>>(); // room -> user -> sessions
const ROOM_KEY = 'holdfast-demo:room';
const HINT_KEY = 'holdfast-demo:hint-dismissed';
let current = sessionStorage.getItem(ROOM_KEY) ?? 'general';
let myName = '';
let attempts = 0;

function notice(kind: string, text: string, title = ''): void {
  const list = $('notices');
  list.prepend(h('li', { 'data-kind': kind, title }, `${new Date().toLocaleTimeString()} ${text}`));
  while (list.children.length > 50) list.lastElementChild?.remove();
}

// ------------------------------------------------------------------ rendering

function renderState(state: ConnectionState): void {
  const badge = $('state');
  badge.dataset.status = state.status;
  const { text, title } = stateWords(state, net.isOffline(), Date.now());
  badge.textContent = text;
  badge.title = title;
  $('attempts').textContent = String(attempts);
}

/** Rooms of runs (`run-…`) are shown in the agent panel, not as chat rooms. */
const isRun = (room: string) => room.startsWith('run-');
const chatRooms = (client: HoldfastClient<Demo>) => client.joinedRooms().filter((r) => !isRun(r));

function renderRooms(client: HoldfastClient<Demo>): void {
  const list = $('rooms');
  list.replaceChildren(
    ...chatRooms(client).map((room) => {
      const leave = h('button', { type: 'button', 'data-testid': `leave-${room}` }, 'leave');
      leave.addEventListener('click', (e) => {
        e.stopPropagation();
        client.leave(room).catch((err) => ($('room-error').textContent = (err as Error).message));
      });
      const li = h('li', { 'data-room': room, 'aria-current': String(room === current) }, `#${room}`, leave);
      li.addEventListener('click', () => select(client, room));
      return li;
    }),
  );
  $('current-room').textContent = `#${current}`;
}

function renderMembers(): void {
  const m = members.get(current) ?? new Map();
  $('members').replaceChildren(
    ...[...m.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([user, n]) => h('li', { 'data-user': user }, `${user}${n > 1 ? ` ×${n}` : ''}`)),
  );
}

function renderChat(): void {
  const list = $('messages');
  const shown = new Set<string>();
  const items: HTMLElement[] = [];
  for (const line of lines.get(current) ?? []) {
    const mine = line.nonce ? own.get(line.nonce) : undefined;
    if (line.nonce) shown.add(line.nonce);
    items.push(
      lineItem(line.from, line.text, line.id, mine?.mark ?? (line.from === myName ? 'handled' : undefined)),
    );
  }
  for (const o of own.values()) {
    if (o.room !== current || shown.has(o.nonce)) continue;
    const li = lineItem(myName, o.text, '', o.mark);
    if (o.error) li.append(h('span', { class: 'error', 'data-testid': 'line-error' }, ` ${o.error}`));
    items.push(li);
  }
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren(...items);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function lineItem(from: string, text: string, id: string, mark: Mark | undefined): HTMLElement {
  const li = h(
    'li',
    { 'data-id': id, 'data-from': from },
    h('span', { class: 'from' }, from),
    h('span', { class: 'text' }, text),
  );
  if (mark)
    li.append(h('span', { class: 'mark', 'data-mark': mark }, mark === 'handled' ? '✓✓ handled' : mark));
  return li;
}

// ------------------------------------------------------------------ chat

/** Lines a join asks to see again: the room's recent past, kept by the SDK (`rewind`). */
const REWIND = { count: 50 };

/**
 * Join a chat room (again) asking for its recent lines: on first join, and when this page has
 * none of a room it is in (after a reload) or lost some (a gap). Lines already shown stay once.
 */
function joinWithPast(client: HoldfastClient<Demo>, room: string): Promise<void> {
  proof.rewinding(`room:${room}`);
  return client.join(room, { rewind: REWIND }).then(
    () => undefined,
    (err: unknown) => {
      // A server without extension `rewind`: the room from now on.
      if (err instanceof HoldfastError && err.code === 'UNSUPPORTED')
        return client.join(room).then(() => undefined);
      throw err;
    },
  );
}

async function refreshMembers(client: HoldfastClient<Demo>, room: string): Promise<void> {
  try {
    const list = await client.request('members', { room });
    members.set(room, new Map(list.map((m) => [m.user, m.sessions])));
    if (room === current) renderMembers();
  } catch {
    // not connected yet: presence events and the next welcome will fill it in
  }
}

function select(client: HoldfastClient<Demo>, room: string): void {
  current = room;
  sessionStorage.setItem(ROOM_KEY, room);
  renderRooms(client);
  renderChat();
  renderMembers();
}

function say(client: HoldfastClient<Demo>, text: string): void {
  const n = nonce();
  const entry: Own = {
    nonce: n,
    room: current,
    text,
    mark: client.state.status === 'connected' ? 'sent' : 'queued',
  };
  $('chat-error').textContent = '';
  const sending = client.send('say', { room: current, text, nonce: n });
  own.set(n, entry);
  renderChat();
  sending.then(
    () => {
      entry.mark = 'handled';
      renderChat();
    },
    (err: unknown) => {
      const e = err as HoldfastError;
      if (e.code === 'VALIDATION_FAILED') {
        // Nothing was sent: show the schema's message inline, keep the draft.
        own.delete(n);
        $('chat-error').textContent = e.issues?.map((i) => i.message).join('; ') ?? e.message;
        (document.querySelector('[data-testid="chat-input"]') as HTMLInputElement).value = text;
      } else {
        entry.mark = 'error';
        entry.error = e.message;
      }
      renderChat();
    },
  );
}

// ------------------------------------------------------------------ agent run

const agentPanel = new AgentPanel();

/** Follow run `runId` in the agent panel (its room is joined), leaving the run followed before. */
function follow(client: HoldfastClient<Demo>, runId: string): void {
  const before = agentPanel.shown;
  agentPanel.show(runId);
  agentPanel.prune();
  if (before && before !== runId && client.joinedRooms().includes(before))
    client.leave(before).catch(() => undefined);
}

/** Watch a run another tab or device started: its room's one entry is the run as it stands. */
function watch(client: HoldfastClient<Demo>, runId: string): void {
  $('run-error').textContent = '';
  client.join(runId, { rewind: { count: 1 } }).then(
    () => follow(client, runId),
    (err: unknown) => ($('run-error').textContent = (err as Error).message),
  );
}

// ------------------------------------------------------------------ ops panel

const rates: number[] = [];
let lastCount: number | undefined;
let lastAt = 0;

async function pollStats(): Promise<void> {
  try {
    const s = await (await fetch('/api/stats')).json();
    const count = s.counters.deliveries + s.counters.messagesIn;
    const now = Date.now();
    if (lastCount !== undefined && now > lastAt) rates.push(((count - lastCount) * 1000) / (now - lastAt));
    lastCount = count;
    lastAt = now;
    if (rates.length > 60) rates.shift();
    if (rates.length === 1) rates.unshift(rates[0]!); // two points make a line from the first poll
    $('node').textContent = s.node;
    $('ops-connections').textContent = String(s.connections);
    $('ops-sessions').textContent = String(s.sessions);
    $('ops-rooms').textContent = String(s.rooms ?? '–');
    $('ops-rate').textContent = String(Math.round(rates.at(-1) ?? 0));
    $('ops-resumes').textContent = String(s.counters.resumes);
    $('ops-gaps').textContent = String(s.counters.gaps);
    // The last minute, newest at the right edge; before a minute has passed the line starts
    // part-way across instead of squeezing a few points into a spike.
    const max = Math.max(10, ...rates);
    const points = rates
      .map((r, i) => `${240 - ((rates.length - 1 - i) * 240) / 59},${58 - (r / max) * 56}`)
      .join(' ');
    document.querySelector('[data-testid="ops-chart"] polyline')?.setAttribute('points', points);
  } catch {
    // the server is restarting; the next poll will tell
  }
}

// ------------------------------------------------------------------ wiring

const net = new DemoNetwork(() => renderState(client.state));
let client: HoldfastClient<Demo>;
const proof = new ResumeProof((p) => {
  const text = `Resumed: replayed ${p.replayed} message${p.replayed === 1 ? '' : 's'}, ${p.duplicates} duplicates, ${p.gaps} gaps`;
  showProof(text);
  notice('proof', text);
});

function showProof(text: string): void {
  const el = $('proof');
  el.textContent = text;
  el.hidden = false;
}

function firstVisitHint(): void {
  const hint = $('hint');
  hint.hidden = localStorage.getItem(HINT_KEY) === '1';
  $('hint-close').addEventListener('click', () => {
    localStorage.setItem(HINT_KEY, '1');
    hint.hidden = true;
  });
}

async function main(): Promise<void> {
  firstVisitHint();
  keepInputs(['chat-input', 'room-input', 'steps-input', 'interval-input', 'tokens-input', 'watch-input']);
  myName = await askName();
  $('user').textContent = myName;
  client = createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
    protocol: demo,
    WebSocket: net.WebSocket,
    storage: webStorage(sessionStorage),
    token: async () => (await login(myName)).token,
    // Runs grow by appends; the sign-in token expires (TOKEN_TTL_SEC), so it is refreshed in-band
    // before then, keeping the connection.
    plugins: [appends, tokenRefresh],
  });
  client.events.on('state', ({ next }) => {
    if (next.status === 'connecting') attempts += 1;
    if (next.status === 'connected') {
      for (const o of own.values()) if (o.mark === 'queued') o.mark = 'sent';
      renderChat();
    }
    if (next.status === 'failed') notice('failed', `failed: ${next.reason}`, `close code ${next.code}`);
    if (next.status === 'reconnecting' && attempts > 0) {
      const c = next.lastClose;
      notice(
        'closed',
        `connection lost: ${net.isOffline() && c.code === 1006 ? 'offline' : closeWords(c.code)}; retry ${next.attempt}`,
        `close code ${c.code}${c.reason ? ` (${c.reason})` : ''}`,
      );
    }
    renderState(next);
  });
  setInterval(() => renderState(client.state), 500);

  client.events.on('welcome', (w) => {
    $('session').textContent = w.sessionId;
    proof.welcome(w);
    const outcome = w.resumed
      ? 'resumed session'
      : w.resumeError
        ? `new session (resume ${w.resumeError})`
        : 'new session';
    notice('welcome', `${outcome} ${w.sessionId}`);
    // A room this page shows no line of (a reload, a new session): its recent past, again.
    for (const room of chatRooms(client)) {
      if (!lines.get(room)?.length) joinWithPast(client, room).catch(() => undefined);
      void refreshMembers(client, room);
    }
  });
  client.events.on('gap', (g) => {
    proof.gap(g);
    notice('gap', `gap on ${g.stream}: ${g.reason}${g.from !== undefined ? ` (${g.from}–${g.to})` : ''}`);
    const room = g.stream.slice(5);
    if (g.stream.startsWith('room:') && !isRun(room) && client.state.status === 'connected')
      joinWithPast(client, room).catch(() => undefined);
  });
  client.events.on('room', (r) => {
    if (isRun(r.room)) return;
    if (r.op === 'join') void refreshMembers(client, r.room);
    else if (r.room === current) current = chatRooms(client)[0] ?? 'general';
    renderRooms(client);
  });
  client.events.on('presence', (p) => {
    let m = members.get(p.room);
    if (!m) {
      m = new Map();
      members.set(p.room, m);
    }
    if (p.sessions > 0) m.set(p.user, p.sessions);
    else m.delete(p.user);
    if (p.room === current) renderMembers();
  });
  client.events.on('ack', (a) => {
    for (const o of own.values()) {
      if (o.id === a.id) o.mark = a.ok ? 'handled' : 'error';
    }
    renderChat();
  });
  client.events.on('error', (e) => notice('error', e.message));

  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  let typist = '';
  const clearTyping = () => {
    clearTimeout(typingTimer);
    typist = '';
    $('typing').textContent = '';
  };
  client.on('said', (line, meta) => {
    const list = lines.get(line.room) ?? [];
    if (!list.some((l) => l.id === line.id)) list.push(line);
    lines.set(line.room, list);
    if (line.room === current) {
      if (line.from === typist) clearTyping(); // their message is here: they stopped typing
      renderChat();
    }
    proof.message(meta);
  });
  client.on('typing', ({ room, user }) => {
    if (room !== current) return;
    typist = user;
    $('typing').textContent = `${user} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(clearTyping, 3000);
  });
  // A run grows by appends: the SDK folds it and hands over its value so far (a snapshot after
  // a reload or a late join, then every step and token live, each once).
  client.on('run', (run, meta) => {
    agentPanel.update(run, meta.done);
    proof.message(meta);
  });
  client.on('resumed', ({ streams }) => proof.report(streams));

  // Messages restored from storage after a reload: show them as queued until handled.
  for (const p of client.pending()) {
    if (p.type !== 'say') continue;
    const d = p.data as { room: string; text: string; nonce: string };
    own.set(d.nonce, {
      nonce: d.nonce,
      room: d.room,
      text: d.text,
      mark: p.state === 'sent' ? 'sent' : 'queued',
      id: p.id,
    });
  }
  agentPanel.renderAll();

  const chatInput = $('chat-input') as HTMLInputElement;
  document.getElementById('chat-form')?.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = chatInput.value;
    chatInput.value = '';
    saveInput(chatInput);
    say(client, text);
  });
  let lastTyping = 0;
  chatInput.addEventListener('input', () => {
    if (client.state.status !== 'connected' || Date.now() - lastTyping < 1500) return;
    lastTyping = Date.now();
    client.send('typing', { room: current }).catch(() => undefined);
  });
  document.getElementById('join-form')?.addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('room-input') as HTMLInputElement;
    const room = input.value.trim();
    $('room-error').textContent = '';
    if (!RoomName.safeParse(room).success) {
      // The schema's rule, before asking the server (which would only say FORBIDDEN).
      const slug = room
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '')
        .slice(0, 40);
      $('room-error').textContent =
        `Room names are 1–40 lowercase letters, digits and dashes${slug ? `: try "${slug}"` : ''}.`;
      return;
    }
    if (isRun(room)) {
      input.value = '';
      saveInput(input);
      return watch(client, room);
    }
    joinWithPast(client, room).then(
      () => {
        input.value = '';
        saveInput(input);
        select(client, room);
      },
      (err: unknown) => {
        $('room-error').textContent =
          err instanceof HoldfastError && err.code === 'FORBIDDEN'
            ? `Cannot join #${room} now (too many rooms or rooms per tab).`
            : String((err as Error).message ?? err);
      },
    );
  });
  document.getElementById('agent-form')?.addEventListener('submit', (e) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    $('run-error').textContent = '';
    client
      .request('startRun', {
        steps: Number(form.get('steps')),
        intervalMs: Number(form.get('interval')),
        tokens: Number(form.get('tokens')),
        task: 'Summarise the week',
      })
      .then(({ runId }) => follow(client, runId))
      .catch((err: unknown) => {
        const e = err as HoldfastError;
        $('run-error').textContent =
          e.issues?.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? e.message;
      });
  });
  document.getElementById('watch-form')?.addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('watch-input') as HTMLInputElement;
    const runId = input.value.trim();
    if (!/^run-[0-9a-f]{8}$/.test(runId)) {
      $('run-error').textContent = 'A run id looks like run-1a2b3c4d.';
      return;
    }
    watch(client, runId);
  });
  $('drop').addEventListener('click', () => net.drop());
  $('offline').addEventListener('click', () => net.goOffline(5000));

  renderState(client.state);
  void pollStats();
  setInterval(() => void pollStats(), 1000);
  try {
    await client.connect();
  } catch {
    // `failed` is shown by the state badge
    return;
  }
  if (chatRooms(client).length === 0) await joinWithPast(client, 'general').catch(() => undefined);
  select(client, chatRooms(client).includes(current) ? current : (chatRooms(client)[0] ?? 'general'));
}

void main();
