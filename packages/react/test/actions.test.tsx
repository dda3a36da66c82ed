import { appends } from '@holdfast/client';
import { ErrorCode } from '@holdfast/protocol';
import { act, render, screen, waitFor } from '@testing-library/react';
import { StrictMode } from 'react';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { HoldfastGap } from '../src/index.js';
import { clientOf, hooks, proxyTo, startServer, until } from './support/setup.js';

const { HoldfastProvider, useRequest, useSend, usePresence, useGaps, useRoom, useClient } = hooks;

describe('useRequest and useSend', () => {
  it('give the latest call status, a typed result and a typed error', async () => {
    const server = await startServer();
    const { client } = clientOf(server.address().port, 'gus');
    const api: { add?: ReturnType<typeof useRequest<'add'>>; say?: ReturnType<typeof useSend<'say'>> } = {};
    function Calls() {
      api.add = useRequest('add');
      api.say = useSend('say');
      const { status, result, error } = api.add;
      return (
        <p data-testid="add">
          {status}:{String(result)}:{error?.code ?? ''}
        </p>
      );
    }
    render(
      <HoldfastProvider client={client}>
        <Calls />
      </HoldfastProvider>,
    );
    expect(screen.getByTestId('add').textContent).toBe('idle:undefined:');
    let settled: Awaited<ReturnType<NonNullable<typeof api.add>['request']>> | undefined;
    await act(async () => {
      settled = await api.add!.request({ a: 2, b: 3 });
    });
    expect(settled).toEqual({ ok: true, result: 5 });
    expect(screen.getByTestId('add').textContent).toBe('success:5:');
    if (api.add!.status === 'success') expectTypeOf(api.add!.result).toEqualTypeOf<number>();

    // Invalid data: rejected locally with VALIDATION_FAILED, nothing sent; the state says so.
    await act(async () => {
      settled = await api.add!.request({ a: 'x' as unknown as number, b: 1 });
    });
    expect(settled?.ok).toBe(false);
    expect(screen.getByTestId('add').textContent).toBe(`error:undefined:${ErrorCode.ValidationFailed}`);

    act(() => api.add!.reset());
    expect(screen.getByTestId('add').textContent).toBe('idle:undefined:');

    // A send to a room the server refuses comes back as the server's error, typed.
    let sent: Awaited<ReturnType<NonNullable<typeof api.say>['send']>> | undefined;
    await act(async () => {
      sent = await api.say!.send({ room: 'closed', text: 'hi' });
    });
    expect(sent?.ok === false && sent.error.code).toBe(ErrorCode.HandlerError);
    expect(api.say!.status).toBe('error');
  });
});

describe('usePresence', () => {
  it('seeds members with one load, then follows presence events', async () => {
    // zed's leave follows its join within the server's presence window: not merged here (every
    // event at once), since this test is about following events.
    const server = await startServer({ presenceIntervalMs: 0 });
    const port = server.address().port;
    const { client: other } = clientOf(port, 'zed');
    await other.connect();
    await other.join('hall');
    const { client, sent } = clientOf(port, 'ivy');
    function Members() {
      const members = usePresence('hall', { load: (room, c) => c.request('members', { room }) });
      return <p data-testid="members">{members.map((m) => `${m.user}x${m.sessions}`).join(',')}</p>;
    }
    render(
      <StrictMode>
        <HoldfastProvider client={client}>
          <Members />
        </HoldfastProvider>
      </StrictMode>,
    );
    // zed joined before ivy mounted: only the load can know it.
    await waitFor(() => expect(screen.getByTestId('members').textContent).toBe('ivyx1,zedx1'));
    // StrictMode's double mount and the first welcome make one load, not three.
    expect(sent.filter((f) => f.t === 'pub' && f.type === 'members')).toHaveLength(1);
    await other.leave('hall');
    await waitFor(() => expect(screen.getByTestId('members').textContent).toBe('ivyx1'));
  });
});

describe('useGaps', () => {
  it('keeps a gap for a component that mounts after it, filtered by room', async () => {
    const server = await startServer({ retention: { maxMessages: 3 } });
    const proxy = await proxyTo(server);
    const { client } = clientOf(proxy.port, 'joe');
    const got: HoldfastGap[] = [];
    function Gaps({ room }: { room?: string }) {
      const { gaps, dismiss } = useGaps(room === undefined ? {} : { room });
      return (
        <>
          <button type="button" data-testid={`dismiss-${room ?? 'all'}`} onClick={() => dismiss()} />
          <p data-testid={`gaps-${room ?? 'all'}`}>{gaps.map((g) => `${g.room}:${g.reason}`).join(',')}</p>
        </>
      );
    }
    function Watcher() {
      useGaps({ onGap: (g) => got.push(g) });
      return null;
    }
    function Shell({ show }: { show: boolean }) {
      useRoom('busy');
      useRoom('calm');
      return (
        <>
          <Watcher />
          {show && <Gaps room="busy" />}
          {show && <Gaps room="calm" />}
        </>
      );
    }
    const ui = render(
      <HoldfastProvider client={client}>
        <Shell show={false} />
      </HoldfastProvider>,
    );
    await until(() => client.joinedRooms().length === 2 && client.state.status === 'connected', 'joined');
    await waitFor(async () => expect((await server.presence('calm')).length).toBe(1));
    proxy.refuse(true);
    proxy.cut();
    await until(() => client.state.status === 'reconnecting', 'disconnected');
    for (let i = 0; i < 6; i++) await server.sendToRoom('busy', 'notice', { text: `n${i}` });
    proxy.refuse(false);
    await until(() => got.length === 1, 'the gap event');
    expect(got[0]).toMatchObject({ room: 'busy', reason: 'retention', source: 'welcome' });

    ui.rerender(
      <HoldfastProvider client={client}>
        <Shell show={true} />
      </HoldfastProvider>,
    );
    expect(screen.getByTestId('gaps-busy').textContent).toBe('busy:retention');
    expect(screen.getByTestId('gaps-calm').textContent).toBe('');
    act(() => screen.getByTestId('dismiss-busy').click());
    expect(screen.getByTestId('gaps-busy').textContent).toBe('');
  });
});

describe('the provider with options', () => {
  it('creates, connects and (after unmount) closes its own client, once under StrictMode', async () => {
    const server = await startServer();
    let client: ReturnType<typeof useClient> = null;
    function Grab() {
      client = useClient();
      return null;
    }
    const { WebSocket } = await import('ws');
    const ui = render(
      <StrictMode>
        <HoldfastProvider
          options={{
            url: `ws://127.0.0.1:${server.address().port}/ws`,
            WebSocket: WebSocket as never,
            token: 'kim',
            environment: null,
            plugins: [appends],
          }}
        >
          <Grab />
        </HoldfastProvider>
      </StrictMode>,
    );
    await until(() => client?.state.status === 'connected', 'connected');
    expect(server.stats().counters.sessionsCreated).toBe(1);
    expect(server.stats().connections).toBe(1);
    ui.unmount();
    await until(() => client?.state.status === 'closed', 'closed');
  });
});
