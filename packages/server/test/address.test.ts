import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { addressKey, clientAddress, proxyList } from '../src/address.js';

function req(remoteAddress: string, xff?: string | string[]): IncomingMessage {
  return { socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } } as never;
}

describe('addressKey', () => {
  it('keys IPv6 by prefix and IPv4 as is', () => {
    expect(addressKey('2001:db8:1:2:3:4:5:6', 64)).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(addressKey('2001:db8:1:2::9', 64)).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(addressKey('2001:db8:1:2ff::9', 56)).toBe('2001:db8:1:200:0:0:0:0/56');
    expect(addressKey('2001:db8::ffff:1.2.3.4', 112)).toBe('2001:db8:0:0:0:ffff:102:0/112');
    expect(addressKey('::1', 64)).toBe('0:0:0:0:0:0:0:0/64');
    expect(addressKey('2001:db8::1', 128)).toBe('2001:db8::1');
    expect(addressKey('1.2.3.4', 64)).toBe('1.2.3.4');
  });
});

describe('clientAddress', () => {
  const proxies = proxyList(['10.0.0.1', '192.168.0.0/16']);
  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientAddress(req('203.0.113.5', '1.1.1.1'), proxies)).toBe('203.0.113.5');
    expect(clientAddress(req('10.0.0.1', '1.1.1.1'), undefined)).toBe('10.0.0.1');
  });
  it('takes the rightmost entry that is not a trusted proxy', () => {
    expect(clientAddress(req('10.0.0.1', '6.6.6.6, 1.1.1.1, 192.168.3.4'), proxies)).toBe('1.1.1.1');
    expect(clientAddress(req('::ffff:10.0.0.1', ['6.6.6.6', '2001:db8::7']), proxies)).toBe('2001:db8::7');
  });
  it('stops at an entry that is not an address, and uses the peer without a header', () => {
    expect(clientAddress(req('10.0.0.1', 'junk, 192.168.1.1'), proxies)).toBe('192.168.1.1');
    expect(clientAddress(req('10.0.0.1'), proxies)).toBe('10.0.0.1');
  });
});
