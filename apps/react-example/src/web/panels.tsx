import { type FormEvent, useState } from 'react';
import {
  useConnectionState,
  useGaps,
  useMessages,
  usePresence,
  useRequest,
  useRoom,
  useSend,
} from './holdfast.js';

/** The connection state badge: re-renders on state changes only. */
export function ConnectionBadge() {
  const state = useConnectionState();
  const detail = state.status === 'reconnecting' ? ` (attempt ${state.attempt})` : '';
  return (
    <span className="state" data-testid="state" data-status={state.status} title={state.transition ?? ''}>
      {state.status}
      {detail && <small>{detail}</small>}
    </span>
  );
}

/** The room's chat: holds the room, shows its last 200 lines, sends with `say`. */
export function Chat({ room }: { room: string }) {
  const joined = useRoom(room);
  const lines = useMessages({ type: 'said', room, limit: 200 });
  const { send, status, error } = useSend('say');
  const [text, setText] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    void send({ room, text });
    setText('');
  };
  return (
    <section>
      <h2>
        #{room} <small data-testid="room-status">{joined.status}</small>
      </h2>
      <ul className="messages" data-testid="messages">
        {lines.map(({ data }) => (
          <li key={data.id}>
            <span className="from">{data.from}</span>
            <span className="text">{data.text}</span>
          </li>
        ))}
      </ul>
      <form onSubmit={submit}>
        <input
          type="text"
          data-testid="chat-input"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="Say something"
        />
        <button type="submit" data-testid="send">
          Send
        </button>
      </form>
      {status === 'error' && <p data-testid="send-error">{error.code}</p>}
    </section>
  );
}

/** Who is in the room: a snapshot from the `members` request, then presence events. */
export function Members({ room }: { room: string }) {
  const members = usePresence(room, { load: (r, client) => client.request('members', { room: r }) });
  return (
    <section>
      <h2>Here now</h2>
      <ul data-testid="members">
        {members.map((m) => (
          <li key={m.user}>{m.user}</li>
        ))}
      </ul>
    </section>
  );
}

/** A job whose progress streams to everyone in the room. */
export function Progress({ room }: { room: string }) {
  const [steps, setSteps] = useState(20);
  const start = useRequest('startJob');
  const last = useMessages({ type: 'progress', room, limit: 1 }).at(-1)?.data;
  return (
    <section>
      <h2>Live progress</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void start.request({ room, steps, intervalMs: steps > 25 ? 0 : 100 });
        }}
      >
        <input
          type="number"
          data-testid="job-steps"
          min={1}
          max={500}
          value={steps}
          onChange={(e) => setSteps(Number(e.target.value))}
        />
        <button type="submit" data-testid="start-job" disabled={start.status === 'pending'}>
          Start a job
        </button>
      </form>
      {start.status === 'error' && <p data-testid="job-error">{start.error.code}</p>}
      {last && (
        <>
          <progress max={last.total} value={last.done} />
          <p data-testid="progress-text">
            {last.job} by {last.by}: {last.done}/{last.total}
          </p>
        </>
      )}
    </section>
  );
}

/** Messages of the room that will never arrive (kept for a panel mounted after the gap). */
export function Gaps({ room }: { room: string }) {
  const { gaps, dismiss } = useGaps({ room });
  return (
    <section>
      <h2>Gaps</h2>
      <ul data-testid="gaps">
        {gaps.map((g) => (
          <li className="gap" key={g.seq}>
            {g.reason}: {g.from === undefined ? 'some messages' : `offsets ${g.from}–${g.to}`} of #{g.room}{' '}
            are lost
          </li>
        ))}
      </ul>
      {gaps.length > 0 && (
        <button type="button" data-testid="dismiss-gaps" onClick={() => dismiss()}>
          Dismiss
        </button>
      )}
    </section>
  );
}
