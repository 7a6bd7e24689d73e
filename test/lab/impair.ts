// Loss, delay and jitter on one node's cable, netem style.
//
// This kernel (and CI's, the same machine kind) is built without sch_netem, and has no other qdisc
// that can hold a packet back (no fq, no plug), so `tc qdisc … netem` fails with "Specified qdisc kind
// is unknown". The lab therefore splices a small user-space relay into the cable, in the switch
// namespace: the switch-side veth end P leaves the bridge, a new veth pair R/B is made with B in the
// bridge, and the relay copies frames between P and R through AF_PACKET sockets, dropping and
// delaying each direction on its own. Python is used because Node has no raw sockets; it is on
// every machine of this kind.

import * as fs from 'node:fs';

import { LabProcess } from './process';
import { ipBatch, ipIn, tool } from './tools';

export interface NetemOptions {
  /** Share of frames dropped, 0–100 (default 0). */
  lossPct?: number;
  /** Added one-way delay in ms (default 0). */
  delayMs?: number;
  /** Uniform ± jitter in ms around delayMs, clamped at 0; like netem, it can reorder frames. */
  jitterMs?: number;
  /** Seen from the node: 'egress' = frames it sends, 'ingress' = frames it receives (default 'both'). */
  direction?: 'both' | 'egress' | 'ingress';
}

/** The relay's settings line, "egress loss delay jitter ingress loss delay jitter"; throws on bad values. */
export function relaySettings(opts: NetemOptions): string {
  const num = (name: keyof NetemOptions, max: number): number => {
    const v = opts[name] ?? 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
      throw new RangeError(`netem: option '${name}' must be a number from 0 to ${max} (got ${JSON.stringify(v)})`);
    }
    return v;
  };
  const one = `${num('lossPct', 100)} ${num('delayMs', 60_000)} ${num('jitterMs', 60_000)}`;
  const none = '0 0 0';
  const direction = opts.direction ?? 'both';
  switch (direction) {
    case 'both':
      return `${one} ${one}`;
    case 'egress':
      return `${one} ${none}`;
    case 'ingress':
      return `${none} ${one}`;
    default:
      throw new RangeError(`netem: option 'direction' must be 'both', 'egress' or 'ingress' (got ${JSON.stringify(direction)})`);
  }
}

// argv: node-side port, relay-side port. Settings arrive as lines on stdin and are acknowledged
// with "ok <n>"; end of stdin (the lab is gone) ends the relay.
const RELAY_SOURCE = String.raw`
import heapq, os, random, select, socket, struct, sys, time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_CSUMNOTREADY = 8


def open_port(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((name, 0))
    s.setblocking(False)
    return s


def ones_sum(data):
    if len(data) % 2:
        data += b'\0'
    return sum(struct.unpack('!%dH' % (len(data) // 2), data))


# veth passes locally sent TCP/UDP with the checksum left for "hardware" to fill in; a frame sent
# again from user space must carry the real one, or the receiver drops it.
def with_l4_checksum(frame):
    if len(frame) < 34 or frame[12:14] != b'\x08\x00':
        return frame
    ip = 14
    ihl = (frame[ip] & 0x0f) * 4
    total = struct.unpack_from('!H', frame, ip + 2)[0]
    proto = frame[ip + 9]
    at = {6: 16, 17: 6}.get(proto)
    if at is None or struct.unpack_from('!H', frame, ip + 6)[0] & 0x3fff:
        return frame
    l4 = bytearray(frame[ip + ihl:ip + total])
    l4[at:at + 2] = b'\0\0'
    s = ones_sum(frame[ip + 12:ip + 20] + struct.pack('!BBH', 0, proto, len(l4))) + ones_sum(bytes(l4))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    csum = ~s & 0xffff
    if proto == 17 and csum == 0:
        csum = 0xffff
    struct.pack_into('!H', l4, at, csum)
    return frame[:ip + ihl] + bytes(l4) + frame[ip + total:]


ports = [open_port(sys.argv[1]), open_port(sys.argv[2])]
settings = [(0.0, 0.0, 0.0), (0.0, 0.0, 0.0)]
queue = []
seq = 0
acks = 0
pending = b''
print('ready', flush=True)
while True:
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        out, frame = heapq.heappop(queue)[2:]
        try:
            ports[out].send(frame)
        except OSError:
            pass  # the port is down (a cut cable): the frame is lost, as on a wire
    timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else None
    for r in select.select(ports + [0], [], [], timeout)[0]:
        if r == 0:
            chunk = os.read(0, 4096)
            if not chunk:
                sys.exit(0)
            pending += chunk
            while b'\n' in pending:
                line, pending = pending.split(b'\n', 1)
                v = [float(x) for x in line.split()]
                settings = [tuple(v[0:3]), tuple(v[3:6])]
                acks += 1
                print('ok %d' % acks, flush=True)
            continue
        i = ports.index(r)
        for _ in range(64):
            try:
                data, anc, _, addr = r.recvmsg(65536, socket.CMSG_SPACE(20))
            except BlockingIOError:
                break
            if addr[2] == PACKET_OUTGOING:
                continue
            arrived = time.monotonic()
            status = 0
            for level, kind, cdata in anc:
                if level == SOL_PACKET and kind == PACKET_AUXDATA:
                    status = struct.unpack_from('I', cdata)[0]
            if status & TP_STATUS_CSUMNOTREADY:
                data = with_l4_checksum(data)
            loss, delay, jitter = settings[i]
            if loss and random.random() * 100 < loss:
                continue
            wait = max(0.0, delay + (random.uniform(-jitter, jitter) if jitter else 0.0))
            heapq.heappush(queue, (arrived + wait / 1000, seq, 1 - i, data))
            seq += 1
`;

/** Where a relay goes: the switch namespace, the cable's names, and files for its script and output. */
export interface RelayPlan {
  name: string;
  switchNs: string;
  bridge: string;
  port: string;
  relayEnd: string;
  bridgeEnd: string;
  scriptPath: string;
  stdoutPath: string;
  stderrPath: string;
}

const START_MS = 5_000;

/** A relay spliced into one cable; settings change without a gap, remove() restores the plain cable. */
export class Relay {
  private acks = 0;

  private constructor(
    readonly plan: RelayPlan,
    readonly process: LabProcess,
  ) {}

  /**
   * Splices a relay into plan.port's cable with the given settings. The relay runs before the
   * cable moves over, and the move is one ip batch, so the cable is never down for long.
   * onStarted lets the caller record the process for teardown before anything else can fail.
   */
  static async insert(plan: RelayPlan, settings: string, onStarted: (p: LabProcess) => void): Promise<Relay> {
    if (!fs.existsSync(plan.scriptPath)) fs.writeFileSync(plan.scriptPath, RELAY_SOURCE);
    await ipBatch(plan.switchNs, [
      `link add ${plan.relayEnd} type veth peer name ${plan.bridgeEnd}`,
      `link set ${plan.relayEnd} promisc on up`,
      `link set ${plan.bridgeEnd} up`,
      `link set ${plan.port} promisc on`,
    ]);
    const proc = await LabProcess.start(
      [tool('ip'), 'netns', 'exec', plan.switchNs, tool('python3'), plan.scriptPath, plan.port, plan.relayEnd],
      { name: plan.name, stdoutPath: plan.stdoutPath, stderrPath: plan.stderrPath, stdinPipe: true },
    );
    onStarted(proc);
    await proc.waitFor(/^ready$/m, START_MS).catch((e: Error) => {
      const stderr = fs.existsSync(plan.stderrPath) ? fs.readFileSync(plan.stderrPath, 'utf8').trim() : '';
      throw new Error(`${e.message}${stderr ? `\nits stderr: ${stderr}` : ''}`);
    });
    const relay = new Relay(plan, proc);
    await relay.set(settings);
    await ipBatch(plan.switchNs, [`link set ${plan.port} nomaster`, `link set ${plan.bridgeEnd} master ${plan.bridge}`]);
    return relay;
  }

  /** Applies a settings line (see relaySettings) and waits until the relay has taken it. */
  async set(settings: string): Promise<void> {
    const n = ++this.acks;
    this.process.stdin!.write(settings + '\n');
    await this.process.waitFor(new RegExp(`^ok ${n}$`, 'm'), START_MS);
  }

  /** Puts the plain cable back into the bridge, then ends the relay and deletes its pair. */
  async remove(): Promise<void> {
    const { switchNs, port, bridge, bridgeEnd, relayEnd } = this.plan;
    await ipBatch(switchNs, [`link set ${bridgeEnd} nomaster`, `link set ${port} master ${bridge}`]);
    this.process.stdin!.end();
    await this.process.stop('SIGTERM', 1_000);
    await ipIn(switchNs, ['link', 'del', relayEnd]);
    await ipIn(switchNs, ['link', 'set', port, 'promisc', 'off']);
  }
}
