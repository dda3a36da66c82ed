import type { ConnectionState } from '@holdfast/client';

/** Close codes in plain words (the code itself goes in a tooltip). */
const CLOSES: Record<number, string> = {
  1000: 'closed normally',
  1001: 'the server is going away',
  1005: 'closed without a reason',
  1006: 'the network dropped',
  1011: 'server error',
  1012: 'the server is restarting',
  1013: 'the server is busy',
  3000: 'you dropped the socket',
  3001: 'you went offline',
  4000: 'the session ended',
  4008: 'too slow to keep up',
  4400: 'protocol error',
  4401: 'not signed in',
  4403: 'forbidden',
  4406: 'unsupported version',
  4408: 'no heartbeat',
  4409: 'too many tabs for this name',
  4413: 'message too big',
  4429: 'too many messages',
  4500: 'server error',
};

/** What a close code means, in words a newcomer understands. */
export function closeWords(code: number): string {
  return CLOSES[code] ?? 'connection lost';
}

/** The connection badge: plain words, and the codes for the curious in `title`. */
export function stateWords(
  state: ConnectionState,
  offline: boolean,
  now: number,
): { text: string; title: string } {
  switch (state.status) {
    case 'connected':
      return { text: 'connected', title: `session ${state.sessionId}` };
    case 'reconnecting': {
      const secs = Math.max(0, Math.ceil((state.retryAt - now) / 1000));
      const c = state.lastClose;
      return {
        text: `${offline ? 'offline' : closeWords(c.code)}: retrying in ${secs} s`,
        title: `close code ${c.code}${c.reason ? ` (${c.reason})` : ''}; attempt ${state.attempt}`,
      };
    }
    case 'failed':
      return { text: `failed: ${state.reason}`, title: `close code ${state.code}` };
    case 'connecting':
      return { text: offline ? 'offline: connecting…' : 'connecting…', title: '' };
    default:
      return { text: state.status, title: '' };
  }
}
