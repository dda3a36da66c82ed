/**
 * Conformance scenarios of the extensions `appends` and `rewind` (docs/PROTOCOL.md §10), part
 * of the table in `scenarios.ts`.
 */
import type { StreamScenario, WireScenario } from './scenario.js';

/** The clients that run these scenarios: the reference client and the official `@holdfast/client`. */
const CLIENTS: ('spec' | 'official')[] = ['spec', 'official'];

const room = { room: 'a' };

/** Stream scenarios of §10. */
export const appendScenarios: StreamScenario[] = [
  {
    name: 'appends: a growing answer arrives live, every delta once, in order',
    section: '10.1',
    check: [room],
    clients: CLIENTS,
    steps: [
      { op: 'connect' },
      { op: 'join', room: 'a' },
      { op: 'start', to: room },
      { op: 'grow', to: room, count: 50 },
      { op: 'end', to: room },
    ],
    expect: { grown: [{ to: room, answers: 1 }] },
  },
  {
    name: 'appends: resume mid-answer after compactions, cursor inside the appends',
    section: '10.2',
    check: [room],
    clients: CLIENTS,
    steps: [
      { op: 'connect' },
      { op: 'join', room: 'a' },
      { op: 'start', to: room },
      { op: 'grow', to: room, count: 20 },
      { op: 'offline' },
      { op: 'grow', to: room, count: 2000 },
      { op: 'online' },
      { op: 'connect' },
      { op: 'grow', to: room, count: 10 },
      { op: 'end', to: room },
    ],
    expect: { grown: [{ to: room, answers: 1 }] },
  },
  {
    name: 'appends: resume with the cursor before the answer started',
    section: '10.2',
    check: [room],
    clients: CLIENTS,
    steps: [
      { op: 'connect' },
      { op: 'join', room: 'a' },
      { op: 'publish', to: room, count: 1 },
      { op: 'settle' },
      { op: 'offline' },
      { op: 'start', to: room },
      { op: 'grow', to: room, count: 1500 },
      { op: 'online' },
      { op: 'connect' },
      { op: 'grow', to: room, count: 5 },
      { op: 'end', to: room },
      { op: 'publish', to: room, count: 1 },
      { op: 'settle' },
    ],
    expect: { grown: [{ to: room, answers: 1 }], delivered: [{ to: room, count: 2 }] },
  },
  {
    name: 'appends: a late joiner gets the folded text, then the rest live',
    section: '10.4',
    check: [room],
    clients: CLIENTS,
    steps: [
      { op: 'connect' },
      { op: 'start', to: room },
      { op: 'grow', to: room, count: 2000 },
      { op: 'join', room: 'a' },
      { op: 'grow', to: room, count: 100 },
      { op: 'end', to: room },
    ],
    expect: { grown: [{ to: room, answers: 1 }] },
  },
  {
    name: 'appends: a client reloaded mid-answer asks for snapshots and gets the text so far',
    section: '10.4',
    check: ['session'],
    clients: ['spec'],
    steps: [
      { op: 'connect' },
      { op: 'start', to: 'session' },
      { op: 'grow', to: 'session', count: 100 },
      { op: 'offline' },
      { op: 'reload' },
      { op: 'online' },
      { op: 'connect' },
      { op: 'grow', to: 'session', count: 10 },
      { op: 'end', to: 'session' },
    ],
    expect: { grown: [{ to: 'session', answers: 1 }] },
  },
  {
    name: 'rewind: a join with count 5 gets the last 5 retained messages, then live',
    section: '10.5',
    check: [room],
    clients: CLIENTS,
    steps: [
      { op: 'connect' },
      { op: 'publish', to: room, count: 20 },
      { op: 'join', room: 'a', rewind: { count: 5 } },
      { op: 'publish', to: room, count: 3 },
      { op: 'settle' },
    ],
    expect: { delivered: [{ to: room, count: 8 }] },
  },
  {
    name: 'rewind: a rewound join gets the open answer below its start, then the rest',
    section: '10.5',
    check: [room],
    clients: CLIENTS,
    steps: [
      { op: 'connect' },
      { op: 'start', to: room },
      { op: 'grow', to: room, count: 10 },
      { op: 'publish', to: room, count: 3 },
      { op: 'join', room: 'a', rewind: { count: 1 } },
      { op: 'grow', to: room, count: 10 },
      { op: 'end', to: room },
      { op: 'settle' },
    ],
    expect: { grown: [{ to: room, answers: 1 }], delivered: [{ to: room, count: 1 }] },
  },
];

/** Wire scenarios of §10. */
export const appendWireScenarios: WireScenario[] = [
  {
    name: 'welcome lists the extensions appends and rewind',
    section: '10',
    steps: [
      { open: {} },
      { hello: { token: 'a' } },
      { expect: { t: 'welcome', extensions: ['appends', 'rewind'] } },
    ],
    open: true,
  },
  {
    name: 'join with a rewind out of range: error frame and 4400',
    section: '10.5',
    steps: [
      { open: {} },
      { hello: { token: 'a' } },
      { send: { t: 'join', id: 'j', room: 'r', rewind: { count: 0 } } },
      { expect: { t: 'error' } },
    ],
    close: { code: 4400 },
  },
];
