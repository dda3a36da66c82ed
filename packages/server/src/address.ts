/**
 * Who a connection comes from, for per-address limits: the socket's peer, or behind trusted
 * proxies the client named in `X-Forwarded-For`; and the key its limits count under (an IPv6
 * address by its prefix, since one client owns a whole /64).
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP, isIPv6 } from 'node:net';

/** The trusted proxies as a block list (addresses or CIDR ranges); undefined when none. */
export function proxyList(entries: readonly string[] | undefined): BlockList | undefined {
  if (!entries || entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [ip = '', bits] = entry.split('/');
    const type = isIPv6(ip) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return list;
}

function trusted(list: BlockList, ip: string): boolean {
  const plain = unmapped(ip);
  return list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
}

/**
 * The client's address: the socket's peer, unless the peer is a trusted proxy; then the
 * rightmost `X-Forwarded-For` entry that is not a trusted proxy (entries left of it could be
 * forged by the client). An entry that is not an IP address stops the walk at the hop after it.
 */
export function clientAddress(req: IncomingMessage, proxies: BlockList | undefined): string {
  let address = unmapped(peerAddress(req.socket));
  if (!proxies || !isIP(address) || !trusted(proxies, address)) return address;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = unmapped(hops[i]!.trim());
    if (!isIP(hop)) break;
    address = hop;
    if (!trusted(proxies, hop)) break;
  }
  return address;
}

/**
 * The socket's `remoteAddress`, without leaving Node's cache of it behind: the first read keeps
 * an object `{address, family, port}` and the address string on the socket for its life (about
 * 90 bytes per connection) that nothing reads again; the server keeps the address it needs.
 * A later read of `remoteAddress` asks the socket's handle again.
 */
function peerAddress(socket: IncomingMessage['socket']): string {
  const cached = socket as { _peername?: unknown };
  const had = cached._peername !== undefined;
  const address = socket.remoteAddress ?? 'unknown';
  if (!had && cached._peername !== undefined) cached._peername = undefined;
  return address;
}

/** `::ffff:1.2.3.4` as `1.2.3.4`; a zone (`%eth0`) dropped. */
function unmapped(ip: string): string {
  const zone = ip.indexOf('%');
  const plain = zone === -1 ? ip : ip.slice(0, zone);
  return plain.toLowerCase().startsWith('::ffff:') && plain.includes('.') ? plain.slice(7) : plain;
}

/** The key per-address limits count under: an IPv4 address as is, an IPv6 one by its first `prefix` bits. */
export function addressKey(address: string, prefix: number): string {
  if (!isIPv6(address) || prefix >= 128) return address;
  const groups = expand(address);
  if (!groups) return address;
  let bits = Math.max(0, prefix);
  const out: string[] = [];
  for (const g of groups) {
    const keep = Math.min(16, bits);
    bits -= keep;
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    out.push((g & mask).toString(16));
  }
  return `${out.join(':')}/${prefix}`;
}

/** The eight 16-bit groups of a valid IPv6 address (an IPv4 tail read as two groups). */
function expand(address: string): number[] | undefined {
  let text = address;
  const dot = text.lastIndexOf('.');
  if (dot !== -1) {
    const colon = text.lastIndexOf(':');
    const [a = 0, b = 0, c = 0, d = 0] = text
      .slice(colon + 1)
      .split('.')
      .map(Number);
    text = `${text.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const missing = 8 - left.length - right.length;
  if ((rest === undefined && missing !== 0) || missing < 0) return undefined;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => Number.parseInt(g, 16));
}
