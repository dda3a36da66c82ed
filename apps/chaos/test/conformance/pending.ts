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
    item: 4,
    rule: '§4.4 one `res` per `pub` frame, on the connection it arrived on',
    today:
      'a pub resent while its first run is still running gets two identical `res` on the new connection (the first run answers the session’s current connection too)',
    scenario: {
      name: 'resend during a slow handler: exactly one res per id',
      section: '4.4',
      clients: ['spec'],
      check: [],
      steps: [
        { op: 'connect' },
        { op: 'hold' },
        { op: 'pubs', count: 5 },
        { op: 'started', count: 5 },
        { op: 'offline' },
        { op: 'online' },
        { op: 'connect' },
        { op: 'resent', count: 5 },
        { op: 'release' },
      ],
      expect: { pubsHandledOnce: true, oneResPerId: true },
    },
  },
  {
    item: 7,
    rule: '§4.5 join and leave of one session take effect in the order received',
    today:
      '`join` awaits `authorizeJoin` before entering the per-session queue, so a `leave` sent right after overtakes it: both answer ok and the session stays in the room',
    scenario: {
      name: 'leave right after join (slow authorizeJoin): the session ends up out of the room',
      section: '4.5',
      server: { slowJoin: true },
      check: [],
      steps: [
        { op: 'connect' },
        { op: 'join', room: 'r7', wait: false },
        { op: 'leave', room: 'r7', wait: false },
        { op: 'answered' },
      ],
      expect: { rooms: [] },
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
  {
    item: 10,
    rule: '§4.7b a client close with 4000 ends the session at once',
    today: 'the session stays resumable for the whole resume window (the next hello resumes it)',
    scenario: {
      name: 'logout: close with 4000, then the old session cannot be resumed',
      section: '4.7b',
      clients: ['spec'],
      check: [],
      steps: [{ op: 'connect' }, { op: 'join', room: 'r10' }, { op: 'close', code: 4000 }, { op: 'connect' }],
      expect: { welcomes: [{ index: 1, resumed: false, resumeError: 'expired', count: 3 }] },
    },
  },
];

export const pendingWireFixes: PendingFix<WireScenario>[] = [
  {
    item: 10,
    rule: '§4.5 presence follows connections, with a grace of presenceGraceMs',
    today:
      'a member whose connection dropped stays present for the whole resume window: no presence leave until expiry',
    scenario: {
      name: 'a member drops its connection: the others see presence leave after the grace',
      section: '4.5',
      server: { presenceGraceMs: 2000 },
      steps: [
        { open: {} },
        { hello: { token: 'a' } },
        { send: { t: 'join', id: 'j1', room: 'p' } },
        { expect: { t: 'res', id: 'j1', ok: true } },
        { conn: 1, open: {} },
        { conn: 1, hello: { token: 'b' } },
        { conn: 1, send: { t: 'join', id: 'j2', room: 'p' } },
        { conn: 1, expect: { t: 'res', id: 'j2', ok: true } },
        { terminate: true },
        { advance: 1000 },
        { advance: 1000 },
        { advance: 1000 },
        { advance: 1000 },
        { conn: 1, expect: { t: 'presence', room: 'p', event: 'leave', user: 'a' } },
      ],
    },
  },
  {
    item: 5,
    rule: '§4.6 heartbeat timeout closes with 4408',
    today: 'the socket is terminated: the client observes 1006',
    scenario: {
      name: 'no pong within heartbeat.timeoutMs: 4408',
      section: '4.6',
      autoPong: false,
      server: { heartbeat: { intervalMs: 1000, timeoutMs: 3000 } },
      steps: [
        { open: {} },
        { hello: { token: 'a' } },
        { advance: 1000 },
        { advance: 1000 },
        { advance: 1000 },
        { advance: 1000 },
        { advance: 1000 },
      ],
      close: { code: 4408 },
    },
  },
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
