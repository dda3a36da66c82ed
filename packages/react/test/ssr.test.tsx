// @vitest-environment node
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

// A server render (Next.js app router, Remix...): no DOM globals, no WebSocket created.

describe('server rendering', () => {
  it('imports and renders without touching window, with server snapshots', async () => {
    expect(typeof window).toBe('undefined');
    expect(typeof document).toBe('undefined');
    // Importing never reads a browser global.
    const { createHoldfastHooks } = await import('../src/index.js');
    const { app } = await import('./support/protocol.js');
    const { HoldfastProvider, useConnectionState, useRoom, useMessages, usePresence, useGaps, useClient } =
      createHoldfastHooks(app);
    function Page() {
      const state = useConnectionState();
      const room = useRoom('lobby');
      const lines = useMessages({ type: 'said', room: 'lobby' });
      const members = usePresence('lobby');
      const { gaps } = useGaps();
      const client = useClient();
      return (
        <p>
          {state.status}|{room.status}|{lines.length}|{members.length}|{gaps.length}|{String(client)}
        </p>
      );
    }
    const html = renderToString(
      <HoldfastProvider options={{ url: 'ws://example.invalid/ws' }}>
        <Page />
      </HoldfastProvider>,
    );
    expect(html).toBe(
      '<p>idle<!-- -->|<!-- -->idle<!-- -->|<!-- -->0<!-- -->|<!-- -->0<!-- -->|<!-- -->0<!-- -->|<!-- -->null</p>',
    );
  });
});
