import { webStorage } from '@holdfast/client';
import { useMemo, useState } from 'react';
import { HoldfastProvider } from './holdfast.js';
import { ExampleNetwork } from './net.js';
import { Chat, ConnectionBadge, Gaps, Members, Progress } from './panels.js';

const ROOM = /^[a-z0-9-]{1,40}$/;
const NAME = /^[A-Za-z0-9_-]{1,24}$/;

/** Sign in (name = token, an example only), then the room. */
export function App() {
  const [who, setWho] = useState<{ user: string; room: string }>();
  return who ? <Signed user={who.user} room={who.room} /> : <SignIn onDone={setWho} />;
}

function SignIn({ onDone }: { onDone: (who: { user: string; room: string }) => void }) {
  const [user, setUser] = useState('');
  const [room, setRoom] = useState('lobby');
  const ok = NAME.test(user) && ROOM.test(room);
  return (
    <section className="signin">
      <h2>Holdfast · React example</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (ok) onDone({ user, room });
        }}
      >
        <input
          type="text"
          data-testid="name"
          placeholder="Your name"
          value={user}
          onChange={(e) => setUser(e.target.value)}
        />
        <input
          type="text"
          data-testid="room"
          placeholder="Room"
          value={room}
          onChange={(e) => setRoom(e.target.value)}
        />
        <button type="submit" data-testid="signin" disabled={!ok}>
          Enter
        </button>
      </form>
    </section>
  );
}

function Signed({ user, room }: { user: string; room: string }) {
  const net = useMemo(() => new ExampleNetwork(), []);
  const [show, setShow] = useState({ chat: true, members: true, gaps: true });
  const toggle = (key: keyof typeof show) => setShow((s) => ({ ...s, [key]: !s[key] }));
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  return (
    <HoldfastProvider
      options={{
        url,
        token: user,
        WebSocket: net.WebSocket,
        // Per tab: a reload resumes the session and resends what was queued.
        storage: webStorage(sessionStorage),
        storageKey: `holdfast-react:${user}`,
        reconnect: { initialDelayMs: 300, minDelayMs: 100, maxDelayMs: 2000 },
      }}
    >
      <header>
        <strong>Holdfast · React</strong>
        <span data-testid="user">{user}</span>
        <ConnectionBadge />
        <button type="button" data-testid="drop" onClick={() => net.drop()}>
          Drop socket
        </button>
        <button type="button" data-testid="offline" onClick={() => net.goOffline(2000)}>
          Offline 2 s
        </button>
        <button type="button" data-testid="offline-hold" onClick={() => net.goOffline(10 * 60_000)}>
          Offline until back
        </button>
        <button type="button" data-testid="online" onClick={() => net.goOnline()}>
          Back online
        </button>
      </header>
      <main>
        <div>
          {show.chat && <Chat room={room} />}
          <Progress room={room} />
        </div>
        <div>
          <section className="controls">
            <h2>Panels</h2>
            {(['chat', 'members', 'gaps'] as const).map((key) => (
              <label key={key}>
                <input
                  type="checkbox"
                  data-testid={`toggle-${key}`}
                  checked={show[key]}
                  onChange={() => toggle(key)}
                />{' '}
                {key}
              </label>
            ))}
          </section>
          {show.members && <Members room={room} />}
          {show.gaps && <Gaps room={room} />}
        </div>
      </main>
    </HoldfastProvider>
  );
}
