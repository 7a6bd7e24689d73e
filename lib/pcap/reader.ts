// Reads tcpdump/Wireshark captures (classic pcap in either byte order with µs or ns
// stamps, and pcapng) and extracts the IPv4 UDP datagrams: what `hbd decode` needs to
// look at real heartbeat traffic. Pure function over a Buffer; every structural problem
// of the file is a CaptureError carrying the byte offset, never another exception.

export class CaptureError extends Error {
  readonly offset: number;

  constructor(offset: number, detail: string) {
    super(`malformed capture at byte ${offset}: ${detail}`);
    this.name = 'CaptureError';
    this.offset = offset;
  }
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface UdpDatagram {
  /** 1-based frame number in the file (as Wireshark counts). */
  readonly frame: number;
  /** Capture time, or null for pcapng simple packet blocks (they carry none). */
  readonly time: { readonly seconds: number; readonly nanos: number } | null;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly payload: Buffer;
}

export interface Capture {
  readonly kind: 'pcap' | 'pcapng';
  readonly datagrams: UdpDatagram[];
  /** Counted notes on what was skipped, e.g. "skipped 19 frames that are not IPv4 UDP". */
  readonly notes: string[];
}

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

/** Which capture format the bytes start with, by magic number; null for anything else. */
export function captureKind(buf: Buffer): 'pcap' | 'pcapng' | null {
  if (buf.length < 4) return null;
  const be = buf.readUInt32BE(0);
  const le = buf.readUInt32LE(0);
  if (be === PCAPNG_SHB) return 'pcapng';
  for (const m of [0xa1b2c3d4, 0xa1b23c4d]) if (be === m || le === m) return 'pcap';
  return null;
}

// Link-layer header types (tcpdump.org/linktypes.html) we can strip to reach IPv4.
const LINK_ETHERNET = 1;
const LINK_RAW = 101;
const LINK_LINUX_SLL = 113;
const LINK_IPV4 = 228;
const LINK_LINUX_SLL2 = 276;
const SUPPORTED_LINKS = new Map<number, string>([
  [LINK_ETHERNET, 'Ethernet'],
  [LINK_RAW, 'raw IP'],
  [LINK_LINUX_SLL, 'Linux cooked (SLL)'],
  [LINK_IPV4, 'raw IPv4'],
  [LINK_LINUX_SLL2, 'Linux cooked (SLL2)'],
]);

function checkLinkType(link: number, offset: number): void {
  if (!SUPPORTED_LINKS.has(link)) {
    throw new CaptureError(offset, `link type ${link} is not supported (use Ethernet, Linux cooked SLL/SLL2 or raw IPv4, e.g. tcpdump -i <interface> or -i any)`);
  }
}

type SkipReason = 'not-udp' | 'fragment' | 'bad-ip';

class Collector {
  readonly datagrams: UdpDatagram[] = [];
  private readonly skipped: Record<SkipReason, number> = { 'not-udp': 0, fragment: 0, 'bad-ip': 0 };
  private frames = 0;

  frame(link: number, data: Buffer, time: UdpDatagram['time']): void {
    this.frames++;
    const r = udpOf(link, data);
    if (typeof r === 'string') this.skipped[r]++;
    else this.datagrams.push({ frame: this.frames, time, ...r });
  }

  notes(): string[] {
    const n: string[] = [];
    if (this.skipped['not-udp']) n.push(`skipped ${this.skipped['not-udp']} frame(s) that are not IPv4 UDP`);
    if (this.skipped.fragment) n.push(`skipped ${this.skipped.fragment} IPv4 fragment(s) (reassembly is not supported)`);
    if (this.skipped['bad-ip']) n.push(`skipped ${this.skipped['bad-ip']} frame(s) with a truncated or malformed IPv4/UDP header`);
    return n;
  }
}

/** Offset of the IPv4 header inside a frame, or a skip reason. */
function ipv4Offset(link: number, f: Buffer): number | SkipReason {
  switch (link) {
    case LINK_ETHERNET: {
      let off = 12;
      if (f.length < off + 2) return 'bad-ip';
      let etype = f.readUInt16BE(off);
      // 802.1Q / 802.1ad tags (possibly stacked) sit before the real ethertype.
      while (etype === 0x8100 || etype === 0x88a8) {
        off += 4;
        if (f.length < off + 2) return 'bad-ip';
        etype = f.readUInt16BE(off);
      }
      return etype === 0x0800 ? off + 2 : 'not-udp';
    }
    case LINK_LINUX_SLL:
      if (f.length < 16) return 'bad-ip';
      return f.readUInt16BE(14) === 0x0800 ? 16 : 'not-udp';
    case LINK_LINUX_SLL2:
      if (f.length < 20) return 'bad-ip';
      return f.readUInt16BE(0) === 0x0800 ? 20 : 'not-udp';
    default: // LINK_RAW / LINK_IPV4: the frame is the IP packet
      if (f.length < 1) return 'bad-ip';
      return f[0]! >> 4 === 4 ? 0 : 'not-udp';
  }
}

function dotted(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function udpOf(link: number, f: Buffer): Omit<UdpDatagram, 'frame' | 'time'> | SkipReason {
  const ip = ipv4Offset(link, f);
  if (typeof ip === 'string') return ip;
  if (f.length < ip + 20) return 'bad-ip';
  const vihl = f[ip]!;
  if (vihl >> 4 !== 4) return 'bad-ip';
  const ihl = (vihl & 15) * 4;
  const total = f.readUInt16BE(ip + 2);
  // Ethernet pads short frames, so the IP length (not the frame length) bounds the packet.
  if (ihl < 20 || total < ihl || ip + total > f.length) return 'bad-ip';
  if (f[ip + 9] !== 17) return 'not-udp';
  const fragment = f.readUInt16BE(ip + 6);
  if ((fragment & 0x2000) !== 0 || (fragment & 0x1fff) !== 0) return 'fragment';
  const udp = ip + ihl;
  if (total - ihl < 8) return 'bad-ip';
  const ulen = f.readUInt16BE(udp + 4);
  if (ulen < 8 || ulen > total - ihl) return 'bad-ip';
  return {
    src: { address: dotted(f, ip + 12), port: f.readUInt16BE(udp) },
    dst: { address: dotted(f, ip + 16), port: f.readUInt16BE(udp + 2) },
    payload: Buffer.from(f.subarray(udp + 8, udp + ulen)),
  };
}

function readPcap(buf: Buffer): Capture {
  if (buf.length < 24) throw new CaptureError(buf.length, `pcap global header needs 24 bytes, the file has ${buf.length}`);
  const le = buf.readUInt32LE(0) === 0xa1b2c3d4 || buf.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const nanoRes = u32(0) === 0xa1b23c4d;
  // The upper bits of the link-type word carry FCS flags; the type is the low 16 bits.
  const link = u32(20) & 0xffff;
  checkLinkType(link, 20);
  const c = new Collector();
  let off = 24;
  while (off < buf.length) {
    if (buf.length - off < 16) throw new CaptureError(off, `record header needs 16 bytes, only ${buf.length - off} remain (truncated capture)`);
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    if (frac >= (nanoRes ? 1e9 : 1e6)) throw new CaptureError(off + 4, `timestamp fraction ${frac} is out of range`);
    if (incl > buf.length - off - 16) throw new CaptureError(off + 8, `record claims ${incl} captured bytes, only ${buf.length - off - 16} remain (truncated capture)`);
    c.frame(link, buf.subarray(off + 16, off + 16 + incl), { seconds: sec, nanos: nanoRes ? frac : frac * 1000 });
    off += 16 + incl;
  }
  return { kind: 'pcap', datagrams: c.datagrams, notes: c.notes() };
}

interface PcapngInterface {
  readonly link: number;
  readonly snaplen: number;
  /** Timestamp units per second (if_tsresol) and the if_tsoffset in seconds. */
  readonly unitsPerSec: bigint;
  readonly offsetSec: bigint;
}

function readPcapng(buf: Buffer): Capture {
  const c = new Collector();
  let le = true;
  let ifaces: PcapngInterface[] = [];
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 12) throw new CaptureError(off, `block header needs 12 bytes, only ${buf.length - off} remain (truncated capture)`);
    const type = buf.readUInt32LE(off) === PCAPNG_SHB ? PCAPNG_SHB : u32(off);
    if (type === PCAPNG_SHB) {
      // A section header fixes the byte order (and forgets the interfaces) for what follows.
      const bom = buf.readUInt32LE(off + 8);
      if (bom === PCAPNG_BOM) le = true;
      else if (buf.readUInt32BE(off + 8) === PCAPNG_BOM) le = false;
      else throw new CaptureError(off + 8, 'section header block has no valid byte-order magic');
      ifaces = [];
    }
    const len = u32(off + 4);
    if (len < 12 || len % 4 !== 0) throw new CaptureError(off + 4, `block length ${len} is not a multiple of 4 of at least 12`);
    if (len > buf.length - off) throw new CaptureError(off + 4, `block claims ${len} bytes, only ${buf.length - off} remain (truncated capture)`);
    if (u32(off + len - 4) !== len) throw new CaptureError(off + len - 4, `trailing block length ${u32(off + len - 4)} differs from the leading ${len}`);
    const body = off + 8;
    const bodyEnd = off + len - 4;
    const need = (n: number, what: string): void => {
      if (bodyEnd - body < n) throw new CaptureError(body, `${what} needs ${n} body bytes, the block has ${bodyEnd - body}`);
    };
    const iface = (id: number, at: number): PcapngInterface => {
      const i = ifaces[id];
      if (!i) throw new CaptureError(at, `packet refers to interface ${id}, but only ${ifaces.length} interface(s) are described`);
      return i;
    };
    const stamp = (i: PcapngInterface, hi: number, lo: number): UdpDatagram['time'] => {
      const units = (BigInt(hi) << 32n) | BigInt(lo);
      const sec = units / i.unitsPerSec + i.offsetSec;
      const nanos = ((units % i.unitsPerSec) * 1_000_000_000n) / i.unitsPerSec;
      return { seconds: Number(sec), nanos: Number(nanos) };
    };
    switch (type) {
      case PCAPNG_SHB:
        need(16, 'section header block');
        break;
      case 1: {
        need(8, 'interface description block');
        const link = u16(body);
        checkLinkType(link, body);
        let unitsPerSec = 1_000_000n;
        let offsetSec = 0n;
        for (let o = body + 8; o + 4 <= bodyEnd; ) {
          const code = u16(o);
          const olen = u16(o + 2);
          if (code === 0) break;
          if (o + 4 + olen > bodyEnd) throw new CaptureError(o, `option ${code} of length ${olen} overruns its block`);
          if (code === 9 && olen >= 1) {
            const r = buf[o + 4]!;
            const exp = BigInt(r & 0x7f);
            unitsPerSec = r & 0x80 ? 1n << exp : 10n ** exp;
            if (unitsPerSec === 0n || exp > 30n) throw new CaptureError(o + 4, `if_tsresol ${r} is not usable`);
          } else if (code === 14 && olen >= 8) {
            offsetSec = le ? buf.readBigInt64LE(o + 4) : buf.readBigInt64BE(o + 4);
          }
          o += 4 + olen + ((4 - (olen % 4)) % 4);
        }
        ifaces.push({ link, snaplen: u32(body + 4), unitsPerSec, offsetSec });
        break;
      }
      case 6:
      case 2: {
        // Enhanced packet block; the obsolete packet block (2) differs only in its 16-bit
        // interface id (followed by a 16-bit drop count).
        need(20, type === 6 ? 'enhanced packet block' : 'packet block');
        const i = iface(type === 6 ? u32(body) : u16(body), body);
        const cap = u32(body + 12);
        if (cap > bodyEnd - body - 20) throw new CaptureError(body + 12, `captured length ${cap} overruns its block`);
        c.frame(i.link, buf.subarray(body + 20, body + 20 + cap), stamp(i, u32(body + 4), u32(body + 8)));
        break;
      }
      case 3: {
        need(4, 'simple packet block');
        const i = iface(0, body);
        const orig = u32(body);
        const cap = Math.min(orig, bodyEnd - body - 4, i.snaplen || Infinity);
        c.frame(i.link, buf.subarray(body + 4, body + 4 + cap), null);
        break;
      }
      default: // name resolution, statistics, custom blocks: nothing we need
    }
    off += len;
  }
  return { kind: 'pcapng', datagrams: c.datagrams, notes: c.notes() };
}

/** Parses a pcap or pcapng capture. Throws CaptureError (with the byte offset) for anything malformed. */
export function readCapture(buf: Buffer): Capture {
  const kind = captureKind(buf);
  if (kind === 'pcap') return readPcap(buf);
  if (kind === 'pcapng') return readPcapng(buf);
  throw new CaptureError(0, 'not a pcap or pcapng file (unknown magic number)');
}
