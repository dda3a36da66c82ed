import { act, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { clientOf, hooks, membersOf, proxyTo, startServer } from './support/setup.js';

const { HoldfastProvider, useRoom, useMessages, useGrowing } = hooks;

// Growing messages (extension `appends`) in components, with the real server.

describe('growing messages in hooks', () => {
  it('useMessages keeps an answer as one entry updated in place, with done; renders stay bounded', async () => {
    const server = await startServer();
    const { client } = clientOf(server.address().port, 'ann');
    const renders = { chat: 0, other: 0 };
    const updates: number[] = [];
    client.on('answer', (_, meta) => updates.push(meta.offset!));
    function Chat() {
      renders.chat++;
      useRoom('r');
      const items = useMessages({ type: ['said', 'answer'], room: 'r', limit: 10 });
      const line = (i: (typeof items)[number]) =>
        i.type === 'said' ? i.data.text : `${i.data}${i.meta.done ? '.' : '…'}`;
      return <p data-testid="chat">{items.map(line).join('|')}</p>;
    }
    function Other() {
      renders.other++;
      useMessages({ type: 'said', room: 'elsewhere' });
      return null;
    }
    render(
      <HoldfastProvider client={client}>
        <Chat />
        <Other />
      </HoldfastProvider>,
    );
    await waitFor(async () => expect(await membersOf(server, 'r')).toEqual(['ann']));
    const settled = { ...renders };
    await server.sendToRoom('r', 'said', { room: 'r', from: 'x', text: 'Q?' });
    const writer = await server.startMessage({ room: 'r' }, 'answer', '');
    await waitFor(() => expect(screen.getByTestId('chat').textContent).toBe('Q?|…'));
    const tokens = Array.from({ length: 40 }, (_, i) => `t${i} `);
    for (const t of tokens) void writer.append(t);
    await act(() => writer.end('end'));
    await server.sendToRoom('r', 'said', { room: 'r', from: 'x', text: 'thanks' });
    await waitFor(() =>
      expect(screen.getByTestId('chat').textContent).toBe(`Q?|${tokens.join('')}end.|thanks`),
    );
    // One render per update at most (batched when frames arrive together), none elsewhere.
    expect(updates).toHaveLength(42);
    expect(renders.chat - settled.chat).toBeLessThanOrEqual(2 + updates.length);
    expect(renders.other).toBe(settled.other);
  });

  it('useGrowing follows the newest answer through a dropped socket, from its folded state on', async () => {
    const server = await startServer();
    const proxy = await proxyTo(server);
    const early = await server.startMessage({ room: 'r' }, 'answer', 'Hel');
    const { client } = clientOf(proxy.port, 'bob');
    function Answer() {
      useRoom('r');
      const answer = useGrowing('answer', { room: 'r' });
      return (
        <p data-testid="answer">{answer ? `${answer.data}${answer.meta.done ? ' (done)' : ''}` : '-'}</p>
      );
    }
    render(
      <HoldfastProvider client={client}>
        <Answer />
      </HoldfastProvider>,
    );
    // Joined late: the answer as folded so far.
    await waitFor(() => expect(screen.getByTestId('answer').textContent).toBe('Hel'));
    await early.append('lo');
    await waitFor(() => expect(screen.getByTestId('answer').textContent).toBe('Hello'));
    proxy.cut();
    await early.append(', ');
    await early.end('world');
    await waitFor(() => expect(screen.getByTestId('answer').textContent).toBe('Hello, world (done)'));
    const next = await server.startMessage({ room: 'r' }, 'answer', 'Next');
    await waitFor(() => expect(screen.getByTestId('answer').textContent).toBe('Next'));
    await next.end();
    await waitFor(() => expect(screen.getByTestId('answer').textContent).toBe('Next (done)'));
  });
});
