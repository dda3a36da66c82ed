/**
 * Unmasked WebSocket text frames (RFC 6455 §5.2), built by the server itself so one frame can
 * be written to many sockets. Valid only without per-message compression, which the server
 * never negotiates.
 */

/** The complete text frame (FIN set, opcode 1) of `data`, header and payload in one buffer. */
export function textFrame(data: string | Buffer): Buffer {
  const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  if (typeof data === 'string') frame.write(data, header, 'utf8');
  else data.copy(frame, header);
  return frame;
}
