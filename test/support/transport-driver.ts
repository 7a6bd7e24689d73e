// A transport in a process of its own, for multi-node tests:
//   node dist/test/support/transport-driver.js <options.json>
// builds TransportOptions from the JSON file, starts the transport ('ts' or 'native'), prints every
// event as one JSON line on stdout (Buffers as hex), goes active after the first peer-up (setCommUp
// + setStatus('active'), as membership would), and takes commands as JSON lines on stdin:
//   {"cmd":"send","message":[["t","x"],["dest","n2"]]}  → {"type":"sent","seq":5}
//   {"cmd":"retransmit","seq":5}                        → {"type":"retransmitted","seq":5,"result":"sent"}
//   {"cmd":"mark-dead","node":"n2"}                      → markDead("n2") (the shutdone path)
//   {"cmd":"highest-seq"}                                → {"type":"highest-seq","seq":12}
//   {"cmd":"stop"}                                       → stop(), exit 0 (SIGTERM does the same)
//   {"cmd":"block-loop","everyMs":1000,"forMs":200}      → {"type":"blocking",…}: spins the event loop
//                                                          forMs of every everyMs (forMs 0 ends it)
// With "control": "<unix socket path>" in the options it also connects there and uses that
// connection exactly like stdin/stdout, and exits when it closes (the test that owned it is gone).
// Options for benchmarks (all off by default): "realtime"/"rtprio" for the native engine,
// "omitEvents" (event types not printed, e.g. ["status"] for long soaks) and "printMono" (each line
// gets the CLOCK_MONOTONIC ms at which JavaScript printed it: when the event reached JS).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { str } from '../../lib/wire/message';
import type { AuthKey, AuthMethod, Message } from '../../lib/wire/types';
import type { Transport, TransportEvent, TransportOptions } from '../../lib/transport/types';
import { monoNowMs } from '../../lib/transport/clock';
import { createUdpTransport } from '../../lib/transport/udp';
import { blockEventLoop } from '../lab/env';

export type TransportKind = 'ts' | 'native';

/** The JSON file: TransportOptions with the uuid as hex and keys as text, plus kind and control. */
export type DriverConfig = Pick<TransportOptions, 'localNode' | 'nodes' | 'media' | 'udpPort' | 'keepaliveMs' | 'deadtimeMs' | 'warntimeMs' | 'initdeadMs' | 'generation'> &
  Partial<Pick<TransportOptions, 'stallLimitMs' | 'wireFormat' | 'firstSeq' | 'ttl' | 'maxRexmitDelayMs' | 'realtime' | 'rtprio'>> & {
    readonly kind: TransportKind;
    readonly control?: string;
    readonly authKeys: { readonly sendIndex: number; readonly keys: readonly { readonly index: number; readonly method: AuthMethod; readonly key: string }[] };
    readonly uuid: string;
    readonly omitEvents?: readonly string[];
    readonly printMono?: boolean;
  };

/** What the driver does with the events, beyond running the transport. */
export interface DriverOutput {
  readonly omitEvents: ReadonlySet<string>;
  readonly printMono: boolean;
}

/** Checks a parsed config file; throws an Error naming the file and the field. */
export function driverOptions(json: unknown, where: string): { kind: TransportKind; control: string | null; options: TransportOptions; output: DriverOutput } {
  const bad = (field: string, want: string): never => {
    throw new Error(`${where}: field ${field} must be ${want}`);
  };
  if (typeof json !== 'object' || json === null) bad('(top level)', 'a JSON object');
  const c = json as DriverConfig;
  if (c.kind !== 'ts' && c.kind !== 'native') bad('kind', '"ts" or "native"');
  if (c.control !== undefined && typeof c.control !== 'string') bad('control', 'a socket path');
  if (typeof c.localNode !== 'string') bad('localNode', 'a node name');
  if (!Array.isArray(c.nodes) || !c.nodes.every((n) => typeof n === 'string')) bad('nodes', 'an array of node names');
  if (!Array.isArray(c.media)) bad('media', 'an array of media');
  for (const k of ['udpPort', 'keepaliveMs', 'deadtimeMs', 'warntimeMs', 'initdeadMs', 'generation'] as const) if (typeof c[k] !== 'number') bad(k, 'a number');
  if (typeof c.uuid !== 'string' || !/^[0-9a-f]{32}$/i.test(c.uuid)) bad('uuid', '32 hex digits');
  if (c.realtime !== undefined && typeof c.realtime !== 'boolean') bad('realtime', 'true or false');
  if (c.rtprio !== undefined && c.rtprio !== null && !(Number.isInteger(c.rtprio) && c.rtprio >= 1 && c.rtprio <= 99)) bad('rtprio', 'null or an integer from 1 to 99');
  if (c.omitEvents !== undefined && !(Array.isArray(c.omitEvents) && c.omitEvents.every((t) => typeof t === 'string'))) bad('omitEvents', 'an array of event types');
  if (c.printMono !== undefined && typeof c.printMono !== 'boolean') bad('printMono', 'true or false');
  const keys = c.authKeys?.keys;
  if (!Array.isArray(keys) || typeof c.authKeys.sendIndex !== 'number') bad('authKeys', '{sendIndex, keys: [{index, method, key}]}');
  const authKeys = { sendIndex: c.authKeys.sendIndex, keys: keys.map((k): AuthKey => ({ index: k.index, method: k.method, key: Buffer.from(k.key ?? '', 'latin1') })) };
  return {
    kind: c.kind,
    control: c.control ?? null,
    options: {
      localNode: c.localNode,
      nodes: c.nodes,
      media: c.media,
      udpPort: c.udpPort,
      keepaliveMs: c.keepaliveMs,
      deadtimeMs: c.deadtimeMs,
      warntimeMs: c.warntimeMs,
      initdeadMs: c.initdeadMs,
      stallLimitMs: c.stallLimitMs ?? 10 * c.deadtimeMs,
      authKeys,
      wireFormat: c.wireFormat ?? 'netstring+auth',
      uuid: Buffer.from(c.uuid, 'hex'),
      generation: c.generation,
      firstSeq: c.firstSeq ?? 1,
      ttl: c.ttl ?? 1 + c.nodes.length,
      realtime: c.realtime ?? false,
      rtprio: c.rtprio ?? null,
      maxRexmitDelayMs: c.maxRexmitDelayMs,
    },
    output: { omitEvents: new Set(c.omitEvents ?? []), printMono: c.printMono ?? false },
  };
}

/** One JSON line; Buffers anywhere inside become hex strings. */
export function jsonLine(value: unknown): string {
  return (
    JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
      const raw = this[key];
      return Buffer.isBuffer(raw) ? raw.toString('hex') : v;
    }) + '\n'
  );
}

/** A command's message: [name, value] pairs of string fields. */
export function commandMessage(fields: unknown): Message {
  if (!Array.isArray(fields) || !fields.every((f) => Array.isArray(f) && f.length === 2 && f.every((x) => typeof x === 'string'))) {
    throw new Error('message must be an array of [name, value] string pairs');
  }
  return fields.map(([name, value]: [string, string]) => str(name, value));
}

type NativeModule = { createNativeTransport?: (o: TransportOptions) => Transport };

function createTransport(kind: TransportKind, options: TransportOptions): Transport {
  if (kind === 'ts') return createUdpTransport(options);
  // Loaded lazily and by path: the native transport may not be built into dist/ yet.
  const file = path.resolve(__dirname, '..', '..', 'lib', 'transport', 'native.js');
  let mod: NativeModule;
  try {
    mod = require(file) as NativeModule;
  } catch (e) {
    throw new Error(`kind "native" needs ${file}, which cannot be loaded (${(e as Error).message.split('\n')[0]}); build the native transport or use kind "ts"`);
  }
  if (typeof mod.createNativeTransport !== 'function') throw new Error(`${file} exports no createNativeTransport(); use kind "ts"`);
  return mod.createNativeTransport(options);
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv.length !== 1) throw new Error('usage: transport-driver <options.json>');
  const file = argv[0]!;
  const { kind, control, options, output } = driverOptions(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  const sinks: ((line: string) => void)[] = [(line) => process.stdout.write(line)];
  const print = (value: object): void => {
    const line = jsonLine(output.printMono ? { ...value, printMono: monoNowMs() } : value);
    for (const s of sinks) s(line);
  };
  const transport = createTransport(kind, options);
  let stopping: Promise<void> | null = null;
  const stop = (why: string): Promise<void> =>
    (stopping ??= transport.stop().then(() => {
      print({ type: 'stopped', why });
      process.exitCode = 0;
      // Drain stdout, then leave even if a socket or timer were still open.
      process.stdout.write('', () => process.exit(0));
    }));

  let active = false;
  const onEvent = (e: TransportEvent): void => {
    if (!output.omitEvents.has(e.type)) print(e);
    if (e.type === 'peer-up' && !active) {
      active = true;
      transport.setCommUp();
      transport.setStatus('active');
    }
  };

  let blocker: NodeJS.Timeout | null = null;
  const onCommand = (line: string): void => {
    if (line.trim() === '') return;
    try {
      const c = JSON.parse(line) as { cmd?: unknown; message?: unknown; seq?: unknown; node?: unknown; everyMs?: unknown; forMs?: unknown };
      switch (c.cmd) {
        case 'send':
          print({ type: 'sent', seq: transport.send(commandMessage(c.message)) });
          break;
        case 'retransmit':
          if (typeof c.seq !== 'number') throw new Error('retransmit needs a numeric seq');
          print({ type: 'retransmitted', seq: c.seq, result: transport.retransmit(c.seq) });
          break;
        case 'mark-dead':
          if (typeof c.node !== 'string') throw new Error('mark-dead needs a node name');
          transport.markDead(c.node);
          break;
        case 'highest-seq':
          print({ type: 'highest-seq', seq: transport.highestSeq() });
          break;
        case 'block-loop': {
          const { everyMs, forMs } = c;
          if (typeof everyMs !== 'number' || typeof forMs !== 'number' || !(forMs >= 0 && forMs < everyMs)) {
            throw new Error('block-loop needs numbers everyMs and forMs with 0 ≤ forMs < everyMs');
          }
          if (blocker) clearInterval(blocker);
          blocker = forMs > 0 ? setInterval(() => blockEventLoop(forMs), everyMs) : null;
          print({ type: 'blocking', everyMs, forMs });
          break;
        }
        case 'stop':
          void stop('stop command');
          break;
        default:
          throw new Error(`unknown cmd ${JSON.stringify(c.cmd)} (send, retransmit, mark-dead, highest-seq, block-loop, stop)`);
      }
    } catch (e) {
      print({ type: 'command-error', command: line, message: (e as Error).message });
    }
  };

  // The native engine does not hold the event loop open (its thread is unref'd): the driver lives
  // until it is told to stop, whatever the transport.
  setInterval(() => undefined, 1 << 30);
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  readline.createInterface({ input: process.stdin }).on('line', onCommand);
  if (control) {
    const sock = net.connect(control);
    sock.on('error', (e) => process.stderr.write(`transport-driver: control socket ${control}: ${e.message}\n`));
    sinks.push((line) => sock.write(line));
    readline.createInterface({ input: sock }).on('line', onCommand);
    sock.on('close', () => void stop('control socket closed'));
  }

  try {
    await transport.start(onEvent);
  } catch (e) {
    print({ type: 'start-error', message: (e as Error).message });
    throw e;
  }
  print({ type: 'started', kind: transport.kind, node: options.localNode, pid: process.pid, generation: options.generation });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`transport-driver: ${e.message}\n`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
  });
}
