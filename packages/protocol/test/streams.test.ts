import { describe, expect, it } from 'vitest';
import { isWireStream, roomOfStream, roomStream, Streams } from '../src/index.js';

describe('room streams', () => {
  it('roomStream and roomOfStream are Streams.room and Streams.roomOf', () => {
    expect(Streams.room).toBe(roomStream);
    expect(Streams.roomOf).toBe(roomOfStream);
  });

  it('names the stream of a room, and the room of a room stream only', () => {
    expect(roomStream('lobby')).toBe('room:lobby');
    expect(isWireStream(roomStream('a:b'))).toBe(true);
    expect(roomOfStream('room:a:b')).toBe('a:b');
    expect(roomOfStream(roomStream('lobby'))).toBe('lobby');
    expect(roomOfStream('user:u1')).toBeUndefined();
    expect(roomOfStream(Streams.broadcast)).toBeUndefined();
    expect(roomOfStream('xroom:lobby')).toBeUndefined();
  });
});
