import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { textFrame } from '../src/frame.js';

const { Sender } = ws as unknown as {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
};

/** The frame `ws` itself would write for this text (unmasked, uncompressed). */
function wsFrame(text: string): Buffer {
  return Buffer.concat(
    Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }),
  );
}

describe('textFrame', () => {
  // Each length class of RFC 6455's payload length: 7-bit, 16-bit and 64-bit, at their edges.
  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 200_000])(
    'builds the same bytes as ws for a %i-byte payload',
    (n) => {
      const text = 'x'.repeat(n);
      expect(textFrame(text).equals(wsFrame(text))).toBe(true);
      expect(textFrame(Buffer.from(text)).equals(wsFrame(text))).toBe(true);
    },
  );

  it('measures the payload in UTF-8 bytes, not characters', () => {
    // 42 four-byte characters: 84 UTF-16 code units but 168 bytes, a 16-bit length.
    const text = '😀'.repeat(42);
    const frame = textFrame(text);
    expect(frame[1]).toBe(126);
    expect(frame.readUInt16BE(2)).toBe(168);
    expect(frame.equals(wsFrame(text))).toBe(true);
  });
});
