import type { StreamScenario, WireScenario } from './scenario.js';

/**
 * Conformance scenarios today's server does NOT pass (docs/PROTOCOL.md v1 rules from issue 13).
 * They run with `pnpm exec vitest run --config apps/chaos/vitest.pending.config.ts`, not in
 * `npm test`: phase 2 fixes the server and moves each one into `scenarios.ts`.
 *
 * Each entry names the issue-13 item, the rule, and what the server does wrong today.
 */
export interface PendingFix<S> {
  item: number;
  rule: string;
  /** What today's server does instead (observed). */
  today: string;
  scenario: S;
}

export const pendingStreamFixes: PendingFix<StreamScenario>[] = [
  {
    item: 1,
    rule: '§4.2 a failed resume lists each of the new session’s three streams once',
    today:
      'welcome lists user:<id> and broadcast twice: `new` at the head, then `gap`/`expired` echoing the old cursor (5 entries instead of 3)',
    scenario: {
      name: 'restart of the in-memory server: each stream listed once, new-epoch messages all delivered',
      section: '4.2',
      check: ['broadcast', 'user'],
      steps: [
        { op: 'connect' },
        { op: 'publish', to: 'broadcast', count: 3 },
        { op: 'settle' },
        { op: 'offline' },
        { op: 'restart' },
        { op: 'online' },
        { op: 'connect' },
        { op: 'publish', to: 'broadcast', count: 10 },
        { op: 'publish', to: 'user', count: 2 },
        { op: 'settle' },
      ],
      expect: {
        welcomes: [
          {
            index: 1,
            resumed: false,
            resumeError: 'expired',
            count: 3,
            streams: [
              { to: 'broadcast', status: 'gap', reason: 'expired' },
              { to: 'user', status: 'gap', reason: 'expired' },
              { to: 'session', status: 'new' },
            ],
          },
        ],
        delivered: [
          { to: 'broadcast', count: 13 },
          { to: 'user', count: 2 },
        ],
      },
    },
  },
  {
    item: 2,
    rule: '§4.2 a gap stays a gap: an expired resume announces cursor+1..head lost, and they are never replayed later',
    today:
      'the `gap` entry echoes the client’s old offset without from/to; the client’s cursor stays old, and the next resume replays the messages published before the new session existed',
    scenario: {
      name: 'expired session: messages published meanwhile are announced lost once and never come back',
      section: '4.2',
      check: ['broadcast'],
      steps: [
        { op: 'connect' },
        { op: 'publish', to: 'broadcast', count: 3 },
        { op: 'settle' },
        { op: 'offline' },
        { op: 'expire' },
        { op: 'publish', to: 'broadcast', count: 4 },
        { op: 'online' },
        { op: 'connect' },
        { op: 'offline' },
        { op: 'online' },
        { op: 'connect' },
        { op: 'settle' },
      ],
      expect: {
        welcomes: [
          { index: 1, resumed: false, resumeError: 'expired', count: 3 },
          { index: 2, resumed: true },
        ],
        delivered: [{ to: 'broadcast', count: 3 }],
        lost: [{ to: 'broadcast', count: 4 }],
      },
    },
  },
  {
    item: 8,
    rule: '§4.2 a resume never goes below the subscription start',
    today: 'a cursor with offset 0 for a joined room replays the room’s history from before the join',
    scenario: {
      name: 'forged room cursor at 0: nothing from before the join is replayed',
      section: '4.2',
      clients: ['spec'],
      check: [{ room: 'r8' }],
      steps: [
        { op: 'publish', to: { room: 'r8' }, count: 5 },
        { op: 'connect' },
        { op: 'join', room: 'r8' },
        { op: 'offline' },
        { op: 'forge', to: { room: 'r8' }, offset: 0 },
        { op: 'online' },
        { op: 'connect' },
        { op: 'publish', to: { room: 'r8' }, count: 1 },
        { op: 'settle' },
      ],
      expect: { delivered: [{ to: { room: 'r8' }, count: 1 }] },
    },
  },
  {
    item: 8,
    rule: '§4.2 an epoch the subscription never had is `gap`/`unknown`, not a replay of the whole retention',
    today: 'a made-up epoch is listed `gap`/`epoch` at first−1 and the whole retained stream is replayed',
    scenario: {
      name: 'made-up epoch: gap unknown, nothing from before the session is replayed',
      section: '4.2',
      clients: ['spec'],
      check: ['broadcast'],
      steps: [
        { op: 'publish', to: 'broadcast', count: 5 },
        { op: 'connect' },
        { op: 'offline' },
        { op: 'forge', to: 'broadcast', epoch: 'made-up' },
        { op: 'online' },
        { op: 'connect' },
        { op: 'publish', to: 'broadcast', count: 1 },
        { op: 'settle' },
      ],
      expect: {
        welcomes: [
          { index: 1, resumed: true, streams: [{ to: 'broadcast', status: 'gap', reason: 'unknown' }] },
        ],
        delivered: [{ to: 'broadcast', count: 1 }],
      },
    },
  },
];

export const pendingWireFixes: PendingFix<WireScenario>[] = [
  {
    item: 11,
    rule: '§3 welcome.limits carries the token bucket burst',
    today: 'welcome.limits has maxPayload, maxRooms, messagesPerSecond only',
    scenario: {
      name: 'welcome.limits.burst',
      section: '3',
      steps: [
        { open: {} },
        { hello: { token: 'a' } },
        { expect: { t: 'welcome', limits: { burst: 100_000 } } },
      ],
      open: true,
    },
  },
  {
    item: 11,
    rule: '§4.2 a wrong resume token answers `expired`, like an unknown session',
    today: 'a wrong token for an existing session answers `forbidden`, revealing that the session exists',
    scenario: {
      name: 'resume with a wrong token: resumeError expired',
      section: '4.2',
      steps: [
        { open: {} },
        { hello: { token: 'a' } },
        { conn: 1, open: {} },
        { conn: 1, resumeOf: 0, resumeToken: 'wrong-token' },
        { conn: 1, expect: { t: 'welcome', resumeError: 'expired' } },
      ],
      open: true,
    },
  },
  {
    item: 11,
    rule: '§1/§4.2 a failed-resume welcome fits maxPayload and its schema whatever the client sent',
    today:
      'the welcome echoes every cursor of the hello: with 1,024 cursors it is far above 64 KiB and has 1,027 entries',
    scenario: {
      name: 'failed resume with 1,024 cursors: welcome within maxPayload and schema',
      section: '4.2',
      server: { limits: { maxPayload: 262_144 } },
      steps: [
        { open: {} },
        { hello: { token: 'a' } },
        { conn: 1, open: {} },
        { conn: 1, resumeOf: 0, resumeToken: 'wrong-token', cursors: 1024 },
        { conn: 1, expectValid: 'welcome', maxPayload: 65_536 },
      ],
      open: true,
    },
  },
  {
    item: 11,
    rule: '§4.3 INVALID_ACK lists at most 64 issues (the ErrorBody schema)',
    today: 'one issue per bad cursor: 1,024 issues, which the protocol’s own decoder rejects',
    scenario: {
      name: 'ack of 1,024 unsubscribed streams: one error frame within its schema',
      section: '4.3',
      server: { limits: { maxPayload: 262_144 } },
      steps: [
        { open: {} },
        { hello: { token: 'a' } },
        {
          send: {
            t: 'ack',
            cursors: Array.from({ length: 1024 }, (_, n) => ({
              stream: `room:x${n}`,
              epoch: 'e',
              offset: 1,
            })),
          },
        },
        { expectValid: 'error', maxPayload: 65_536 },
      ],
      open: true,
    },
  },
];
