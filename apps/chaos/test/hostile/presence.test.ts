import { ManualClock, RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';

// Presence amplification (issue 14 item 5): one connection toggling join/leave within its frame
// rate made the server write a presence frame to every member per frame it sent (203 frames
// per input frame in a 200-member room). Presence events of one user in one room are now
// coalesced to one per `presenceIntervalMs`: the cost of an input frame is bounded whatever
// the room's size. Counted in frames (the server's own counters), not timed.

const MEMBERS = 200;
const TOGGLES = 90;

/** Send a ping and wait for its pong: every frame sent before it has been processed. */
async function settled(c: RawClient, ts: number): Promise<void> {
  c.send({ t: 'ping', ts });
  await c.next((f) => f.t === 'pong' && f.ts === ts);
}

describe('presence amplification', () => {
  it(`one connection toggling join/leave in a ${MEMBERS}-member room: frames written per input frame stay bounded`, async () => {
    const clock = new ManualClock();
    const { server, url } = await startServer({
      clock,
      authenticate: ({ token }) => (token ? { user: token } : null),
      authorizeJoin: () => true,
      limits: { connectionsPerAddress: MEMBERS + 10, pendingConnections: MEMBERS + 10 },
    });
    const members: RawClient[] = [];
    for (let i = 0; i < MEMBERS; i++) {
      const c = await RawClient.open(url);
      await c.hello({ token: `m${i}` });
      c.send({ t: 'join', id: 'j', room: 'hall' });
      await c.next((f) => f.t === 'res' && f.id === 'j');
      members.push(c);
    }
    const attacker = members[0]!;
    // Every window opened by the members' own joins is over.
    clock.advance(2000);
    await settled(attacker, 0);
    const before = server.stats().counters;
    for (let i = 0; i < TOGGLES; i++) {
      attacker.send({ t: 'leave', id: `l${i}`, room: 'hall' });
      await attacker.next((f) => f.t === 'res' && f.id === `l${i}`);
      attacker.send({ t: 'join', id: `j${i}`, room: 'hall' });
      await attacker.next((f) => f.t === 'res' && f.id === `j${i}`);
    }
    await settled(attacker, 1);
    // The window ends: whatever was held goes out now (counted too).
    clock.advance(2000);
    await settled(attacker, 2);
    const after = server.stats().counters;
    const framesIn = after.framesIn - before.framesIn;
    const framesOut = after.framesOut - before.framesOut;
    // The attacker's own answers: sub + res per join/leave, pong per ping.
    const own = 4 * TOGGLES + 2;
    const presence = framesOut - own;
    const perInput = Math.round((framesOut / framesIn) * 10) / 10;
    record('hostile-presence-toggle', {
      members: MEMBERS,
      inputFrames: framesIn,
      framesOut,
      presenceFrames: presence,
      framesPerInputFrame: perInput,
      coalesced: after.presenceCoalesced - before.presenceCoalesced,
    });
    // At most one presence event per window (here: the first leave, and the held change at
    // the window's end if the count differs), each to every member.
    expect(presence).toBeLessThanOrEqual(2 * MEMBERS);
    expect(perInput).toBeLessThan(5);
    expect(await server.presence('hall')).toContainEqual({ user: 'm0', sessions: 1 });
    for (const c of members) await c.terminate();
  });
});
