import { act, render, screen, waitFor } from '@testing-library/react';
import { StrictMode, useState } from 'react';
import { describe, expect, it } from 'vitest';
import { clientOf, hooks, membersOf, proxyTo, startServer, until } from './support/setup.js';

const { HoldfastProvider, useConnectionState, useMessage, useMessages, useRoom, useClient } = hooks;

/** Counts renders of the component that calls it. */
function useRenderCount(counts: Record<string, number>, name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}

describe('useConnectionState', () => {
  it('follows the state union with its transition reason, re-rendering on changes only', async () => {
    const server = await startServer();
    const { client } = clientOf(server.address().port, 'ann');
    const counts: Record<string, number> = {};
    const seen: string[] = [];
    function Status() {
      useRenderCount(counts, 'status');
      const s = useConnectionState();
      seen.push(s.status);
      return <p data-testid="state">{`${s.status}/${s.transition ?? '-'}`}</p>;
    }
    render(
      <HoldfastProvider client={client}>
        <Status />
      </HoldfastProvider>,
    );
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('connected/welcome'));
    // Traffic that is not a state change re-renders nothing.
    const before = counts.status;
    await act(() => client.request('add', { a: 1, b: 2 }));
    await act(() => client.join('quiet'));
    expect(counts.status).toBe(before);
    expect(seen[0]).toBe('idle');
    expect(seen.at(-1)).toBe('connected');
  });
});

describe('useRoom', () => {
  it('under StrictMode, two components holding one room send ONE join; the last unmount leaves', async () => {
    const server = await startServer();
    const { client, sent } = clientOf(server.address().port, 'bea');
    function Holder({ room, label }: { room: string; label: string }) {
      const state = useRoom(room);
      return <p data-testid={label}>{state.status}</p>;
    }
    function App() {
      const [a, setA] = useState(true);
      const [b, setB] = useState(true);
      return (
        <>
          <button type="button" data-testid="drop-a" onClick={() => setA(false)} />
          <button type="button" data-testid="drop-b" onClick={() => setB(false)} />
          {a && <Holder room="lobby" label="a" />}
          {b && <Holder room="lobby" label="b" />}
        </>
      );
    }
    render(
      <StrictMode>
        <HoldfastProvider client={client}>
          <App />
        </HoldfastProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(screen.getByTestId('a').textContent).toBe('joined'));
    expect(screen.getByTestId('b').textContent).toBe('joined');
    expect(await membersOf(server, 'lobby')).toEqual(['bea']);
    const joins = () => sent.filter((f) => f.t === 'join' && f.room === 'lobby').length;
    const leaves = () => sent.filter((f) => f.t === 'leave' && f.room === 'lobby').length;
    expect(joins()).toBe(1);
    // StrictMode double-mounted the provider too: still one socket, one hello.
    expect(sent.filter((f) => f.t === 'hello')).toHaveLength(1);

    act(() => screen.getByTestId('drop-a').click());
    await act(() => client.request('add', { a: 0, b: 0 })); // a round trip: a leave would be out by now
    expect(leaves()).toBe(0);
    expect(await membersOf(server, 'lobby')).toEqual(['bea']);

    act(() => screen.getByTestId('drop-b').click());
    await until(() => leaves() === 1, 'the leave frame');
    await until(() => client.joinedRooms().length === 0, 'the client to leave');
    await waitFor(async () => expect(await membersOf(server, 'lobby')).toEqual([]));
    expect(joins()).toBe(1);
  });

  it('reports a refused join as failed with the typed error', async () => {
    const server = await startServer({ authorizeJoin: ({ room }) => room !== 'vault' });
    const { client } = clientOf(server.address().port, 'cid');
    function Vault() {
      const state = useRoom('vault');
      return <p data-testid="vault">{state.status === 'failed' ? state.error.code : state.status}</p>;
    }
    render(
      <HoldfastProvider client={client}>
        <Vault />
      </HoldfastProvider>,
    );
    await waitFor(() => expect(screen.getByTestId('vault').textContent).toBe('FORBIDDEN'));
  });
});

describe('useMessages and useMessage', () => {
  it('re-render only the components whose filter a message matches', async () => {
    const server = await startServer();
    const { client } = clientOf(server.address().port, 'dan');
    const counts: Record<string, number> = {};
    const handled: string[] = [];
    function Chat({ room }: { room: string }) {
      useRenderCount(counts, `chat-${room}`);
      useRoom(room);
      const lines = useMessages({ type: 'said', room, limit: 3 });
      return <p data-testid={`chat-${room}`}>{lines.map((l) => l.data.text).join(',')}</p>;
    }
    function Progress() {
      useRenderCount(counts, 'progress');
      const events = useMessages({ type: 'progress', limit: 1 });
      const last = events.at(-1)?.data;
      return <p data-testid="progress">{last ? `${last.done}/${last.total}` : '-'}</p>;
    }
    function Listener() {
      useRenderCount(counts, 'listener');
      useMessage('notice', (data, meta) => handled.push(`${data.text}@${meta.volatile}`));
      return null;
    }
    render(
      <HoldfastProvider client={client}>
        <Chat room="one" />
        <Chat room="two" />
        <Progress />
        <Listener />
      </HoldfastProvider>,
    );
    await until(() => client.joinedRooms().length === 2, 'both rooms');
    await waitFor(async () => expect(await membersOf(server, 'two')).toEqual(['dan']));
    const settled = { ...counts };

    for (const text of ['a', 'b', 'c', 'd'])
      await server.sendToRoom('one', 'said', { room: 'one', from: 'x', text });
    await waitFor(() => expect(screen.getByTestId('chat-one').textContent).toBe('b,c,d'));
    // The other room's chat, the progress bar and the listener did not render again.
    expect(counts['chat-two']).toBe(settled['chat-two']);
    expect(counts.progress).toBe(settled.progress);
    expect(counts.listener).toBe(settled.listener);
    expect(counts['chat-one']).toBeLessThanOrEqual(settled['chat-one']! + 4);

    const sessionId = (client.state as { sessionId: string }).sessionId;
    for (let done = 1; done <= 3; done++)
      await server.sendToSession(sessionId, 'progress', { job: 'j', done, total: 3 });
    await server.sendToSession(sessionId, 'notice', { text: 'hi' });
    await waitFor(() => expect(screen.getByTestId('progress').textContent).toBe('3/3'));
    await until(() => handled.length === 1, 'the notice');
    expect(handled).toEqual(['hi@false']);
    expect(counts['chat-one']).toBeLessThanOrEqual(settled['chat-one']! + 4);
    expect(counts['chat-two']).toBe(settled['chat-two']);
    expect(counts.listener).toBe(settled.listener);
  });

  it('keeps every message across a dropped socket and an offline period', async () => {
    const server = await startServer();
    const proxy = await proxyTo(server);
    const { client } = clientOf(proxy.port, 'eve');
    function Chat() {
      useRoom('r');
      const lines = useMessages({ type: 'said', room: 'r', limit: 100 });
      const state = useConnectionState();
      return (
        <>
          <p data-testid="state">{state.status}</p>
          <p data-testid="lines">{lines.map((l) => l.data.text).join(',')}</p>
        </>
      );
    }
    render(
      <HoldfastProvider client={client}>
        <Chat />
      </HoldfastProvider>,
    );
    await waitFor(async () => expect(await membersOf(server, 'r')).toEqual(['eve']));
    const say = (text: string) => server.sendToRoom('r', 'said', { room: 'r', from: 'srv', text });
    await say('1');
    proxy.cut();
    await say('2');
    await waitFor(() => expect(screen.getByTestId('lines').textContent).toBe('1,2'));
    proxy.refuse(true);
    proxy.cut();
    await waitFor(() => expect(screen.getByTestId('state').textContent).not.toBe('connected'));
    await say('3');
    await say('4');
    proxy.refuse(false);
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('connected'));
    await say('5');
    await waitFor(() => expect(screen.getByTestId('lines').textContent).toBe('1,2,3,4,5'));
  });
});

describe('useClient', () => {
  it('is the provider client, and using a hook outside a provider throws a clear error', async () => {
    const server = await startServer();
    const { client } = clientOf(server.address().port, 'fay');
    let got: unknown;
    function Peek() {
      got = useClient();
      return null;
    }
    render(
      <HoldfastProvider client={client} connect={false}>
        <Peek />
      </HoldfastProvider>,
    );
    expect(got).toBe(client);
    expect(client.state.status).toBe('idle');
    const spy = console.error;
    console.error = () => {};
    try {
      expect(() => render(<Peek />)).toThrow('inside <HoldfastProvider>');
    } finally {
      console.error = spy;
    }
  });
});
