import * as z from 'zod/mini';
import {
  AckSchema,
  type CursorSchema,
  HelloSchema,
  JoinSchema,
  LeaveSchema,
  PingSchema,
  PongSchema,
  PubSchema,
  RefreshSchema,
} from './frames.js';
import {
  AppSchema,
  ErrorFrameSchema,
  GapSchema,
  MsgSchema,
  PresenceSchema,
  ResSchema,
  type StreamStatusSchema,
  SubSchema,
  VolSchema,
  WelcomeSchema,
} from './server-frames.js';

// The unions of frames, apart from frames.ts: nothing on a hot path needs them (the codec looks
// schemas up by `t`), and a module of its own is dropped whole by bundlers when unused (the
// package has no side effects), where an unused `z.discriminatedUnion()` call is not.

/** Every frame of the protocol, discriminated by `t`. */
export const FrameSchema = z.discriminatedUnion('t', [
  HelloSchema,
  PubSchema,
  AckSchema,
  JoinSchema,
  LeaveSchema,
  RefreshSchema,
  PingSchema,
  PongSchema,
  WelcomeSchema,
  MsgSchema,
  AppSchema,
  VolSchema,
  ResSchema,
  SubSchema,
  PresenceSchema,
  GapSchema,
  ErrorFrameSchema,
]);

/** Frames a client sends. */
export const ClientFrameSchema = z.discriminatedUnion('t', [
  HelloSchema,
  PubSchema,
  AckSchema,
  JoinSchema,
  LeaveSchema,
  RefreshSchema,
  PingSchema,
  PongSchema,
]);

/** Frames a server sends. */
export const ServerFrameSchema = z.discriminatedUnion('t', [
  WelcomeSchema,
  MsgSchema,
  AppSchema,
  VolSchema,
  ResSchema,
  SubSchema,
  PresenceSchema,
  GapSchema,
  ErrorFrameSchema,
  PingSchema,
  PongSchema,
]);

/** Any frame. */
export type Frame = z.output<typeof FrameSchema>;
/** A frame sent by a client. */
export type ClientFrame = z.output<typeof ClientFrameSchema>;
/** A frame sent by a server. */
export type ServerFrame = z.output<typeof ServerFrameSchema>;
/** A frame of the given `t`. */
export type FrameOf<T extends Frame['t']> = Extract<Frame, { t: T }>;
/** `hello` */
export type HelloFrame = FrameOf<'hello'>;
/** `welcome` */
export type WelcomeFrame = FrameOf<'welcome'>;
/** `msg` */
export type MsgFrame = FrameOf<'msg'>;
/** `app` (extension `appends`) */
export type AppFrame = FrameOf<'app'>;
/** `pub` */
export type PubFrame = FrameOf<'pub'>;
/** `res` */
export type ResFrame = FrameOf<'res'>;
/** A cursor: `{ stream, epoch, offset }`. */
export type Cursor = z.output<typeof CursorSchema>;
/** A stream's status in `welcome`. */
export type StreamStatus = z.output<typeof StreamStatusSchema>;
/** Why a gap happened. */
export type GapReason = NonNullable<StreamStatus['reason']>;
