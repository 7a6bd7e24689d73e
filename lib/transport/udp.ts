// The pure-TypeScript transport as the rest of hbd sees it: a thin Transport on the main thread in
// front of the packet core (lib/transport/udp-core.ts), which runs in a worker thread of its own
// (lib/transport/udp-worker.ts). A blocked main event loop (GC, a slow synchronous call) therefore
// no longer delays beats or deaths; the stall rule is the native engine's: the main thread checks
// in through shared memory every checkInIntervalMs, and after stallLimitMs without one the core
// stops beating and reports 'stall-stop', so that the peers take over from a wedged daemon.
//
// The worker is the one authority for seqs, the retransmit history and its throttle: send() and
// retransmit() wait for its answer (one thread round trip, tens of µs; statuses never need one),
// highestSeq() reads the hiseq it publishes in shared memory. See lib/transport/worker-protocol.ts.
// `realtime on` puts the worker thread at nice −20 (lib/transport/thread-priority.ts; rtprio has no
// meaning there). Unlike the native engine it has no takeover plans and no ping nodes (raw sockets).
import * as path from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';

import { EncodeError } from '../wire/errors';
import type { AuthKeys, Message } from '../wire/types';
import { monoNowMs } from './clock';
import { deliverEvents } from './deliver';
import { DEFAULT_MAX_REXMIT_DELAY_MS } from './history';
import { MediumError } from './media-ts';
import { checkInIntervalMs } from './native';
import type { PingNodeSpec, RetransmitResult, Transport, TransportEvent, TransportOptions } from './types';
import {
  type Command,
  type ErrorData,
  HIGHEST_SEQ,
  LAST_CHECK_IN,
  packMessage,
  REPLY_COUNT,
  type Reply,
  type Report,
  reviveEvent,
  SHARED_BYTES,
  sharedViews,
  type StartSettings,
  type WorkerData,
} from './worker-protocol';

/** How long send()/retransmit() wait for the worker before they give up on it. */
const ANSWER_TIMEOUT_MS = 2_000;
const WORKER_FILE = path.join(__dirname, 'udp-worker.js');

/** Throws a RangeError when the keys cannot sign: their send index has no key. */
export function checkAuthKeys(keys: AuthKeys, name = 'authKeys'): void {
  if (!keys.keys.some((k) => k.index === keys.sendIndex)) {
    throw new RangeError(`transport option ${name}.sendIndex must be an index present in ${name}.keys, got ${JSON.stringify(keys.sendIndex)}`);
  }
}

/** Throws a RangeError naming the first option a transport cannot run with. */
export function checkTransportOptions(o: TransportOptions): void {
  const fail = (name: string, want: string, got: unknown): never => {
    throw new RangeError(`transport option ${name} must be ${want}, got ${JSON.stringify(got)}`);
  };
  for (const k of ['keepaliveMs', 'deadtimeMs', 'warntimeMs', 'initdeadMs'] as const) if (!(o[k] > 0)) fail(k, 'a positive number of ms', o[k]);
  if (!o.nodes.includes(o.localNode)) fail('nodes', `a list containing the local node ${o.localNode}`, o.nodes);
  if (!Number.isInteger(o.udpPort) || o.udpPort < 1 || o.udpPort > 65535) fail('udpPort', 'a port from 1 to 65535', o.udpPort);
  if (o.uuid.length !== 16) fail('uuid', '16 bytes', o.uuid.toString('hex'));
  if (!Number.isSafeInteger(o.firstSeq) || o.firstSeq < 1) fail('firstSeq', 'an integer ≥ 1', o.firstSeq);
  if (!Number.isSafeInteger(o.generation) || o.generation < 0) fail('generation', 'an integer ≥ 0', o.generation);
  checkAuthKeys(o.authKeys);
  const rexmit = o.maxRexmitDelayMs ?? DEFAULT_MAX_REXMIT_DELAY_MS;
  if (!Number.isInteger(rexmit) || rexmit <= 0) fail('maxRexmitDelayMs', 'a positive integer', rexmit);
}

/** Why this transport cannot serve ping nodes, naming the ha.cf lines and the two ways out. */
export function pingNeedsNativeMessage(nodes: readonly PingNodeSpec[]): string {
  const lines = nodes.map((n) => (n.group ? `ping_group ${n.name} ${n.addresses.join(' ')}` : `ping ${n.name}`));
  return `ha.cf ${lines.join(', ')}: ping nodes are reached by ICMP echo over a raw socket, which the TypeScript transport cannot open; ping nodes need the native engine: build it (npm rebuild hbd), or remove the ping lines`;
}

/** `workerFile`: the packet core's thread (tests substitute one that fails). */
export function createUdpTransport(opts: TransportOptions, workerFile = WORKER_FILE): Transport {
  checkTransportOptions(opts);
  return new WorkerTransport(opts, workerFile);
}

/** An error from the worker with its class and fields, as the callers test for them. */
function rebuildError(d: ErrorData): Error {
  let e: Error;
  switch (d.name) {
    case 'MediumError':
      e = new MediumError(d.medium ?? '', d.iface ?? '', '', d.syscall, d.code);
      break;
    case 'EncodeError':
      e = new EncodeError(d.path ?? '', '');
      break;
    case 'RangeError':
      e = new RangeError();
      break;
    case 'TypeError':
      e = new TypeError();
      break;
    default:
      e = Object.assign(new Error(), { name: d.name }, d.code === undefined ? {} : { code: d.code }, d.syscall === undefined ? {} : { syscall: d.syscall });
  }
  e.message = d.message;
  return e;
}

class WorkerTransport implements Transport {
  readonly kind = 'ts' as const;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private readonly sab = new SharedArrayBuffer(SHARED_BYTES);
  private readonly shared = sharedViews(this.sab);
  private settings: { -readonly [K in keyof StartSettings]: StartSettings[K] } = { status: 'up', bumpMs: 0, flowControl: true }; // flow control starts on, as heartbeat's (spec §7.7)
  private worker: Worker | null = null;
  private replies: MessagePort | null = null;
  private exited: Promise<void> = Promise.resolve();
  private onEvent: ((e: TransportEvent) => void) | null = null;
  private starting: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private checkInTimer: NodeJS.Timeout | null = null;
  private stopped: Promise<void> | null = null;

  constructor(
    private opts: TransportOptions,
    private readonly workerFile: string,
  ) {
    Atomics.store(this.shared.big, HIGHEST_SEQ, BigInt(opts.firstSeq - 1));
  }

  async start(onEvent: (e: TransportEvent) => void): Promise<void> {
    if (this.state !== 'new') throw new Error(`transport: start() called twice (state ${this.state})`);
    if (this.opts.pingNodes?.length) {
      this.state = 'stopped';
      throw new Error(pingNeedsNativeMessage(this.opts.pingNodes));
    }
    this.state = 'starting';
    this.onEvent = onEvent;
    this.checkIn();
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    const data: WorkerData = { options: this.opts, settings: { ...this.settings }, shared: this.sab, replies: port2 };
    const worker = new Worker(this.workerFile, { workerData: data, transferList: [port2] });
    this.worker = worker;
    this.exited = new Promise((resolve) => worker.once('exit', (code) => (this.onExit(code), resolve())));
    worker.on('message', (r: Report) => this.onReport(r));
    worker.on('error', (e) => this.fail(e));
    try {
      await new Promise<void>((resolve, reject) => (this.starting = { resolve, reject }));
    } catch (e) {
      await this.stop();
      throw e;
    }
    // The main thread is alive as long as its timers run: that is what the stall rule measures.
    this.checkInTimer = setInterval(() => this.checkIn(), checkInIntervalMs(this.opts));
    this.checkInTimer.unref();
  }

  setStatus(status: 'up' | 'active'): void {
    this.settings.status = status;
    this.post({ cmd: 'set-status', status });
  }

  setDeadtimeBump(extraMs: number): void {
    if (!Number.isFinite(extraMs) || extraMs < 0) throw new RangeError(`transport: deadtime bump must be ≥ 0 ms, got ${extraMs}`);
    this.settings.bumpMs = extraMs;
    this.post({ cmd: 'deadtime-bump', extraMs });
  }

  setCommUp(): void {
    this.mustHaveStarted('setCommUp');
    this.post({ cmd: 'comm-up' });
  }

  setFlowControl(on: boolean): void {
    this.settings.flowControl = on;
    this.post({ cmd: 'flow-control', on });
  }

  send(message: Message): number | null {
    this.mustRun('send');
    return this.call({ cmd: 'send', message: packMessage(message) }) as number | null;
  }

  retransmit(seq: number): RetransmitResult {
    this.mustRun('retransmit');
    return this.call({ cmd: 'retransmit', seq }) as RetransmitResult;
  }

  highestSeq(): number {
    return Number(Atomics.load(this.shared.big, HIGHEST_SEQ));
  }

  /** authkeys reloaded; before start the worker simply starts with them. */
  setAuthKeys(keys: AuthKeys): void {
    checkAuthKeys(keys, 'keys');
    if (this.state === 'new') this.opts = { ...this.opts, authKeys: keys };
    else this.post({ cmd: 'set-auth-keys', keys });
  }

  markDead(node: string): void {
    this.mustHaveStarted('markDead');
    this.post({ cmd: 'mark-dead', node });
  }

  /** One store to shared memory: costs the event loop nothing, whatever the rate. */
  checkIn(): void {
    Atomics.store(this.shared.big, LAST_CHECK_IN, process.hrtime.bigint() / 1000n);
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.state = 'stopped';
      this.onEvent = null; // events still on their way from the worker are dropped: a stopped transport is silent
      if (this.checkInTimer) clearInterval(this.checkInTimer);
      this.checkInTimer = null;
      // The worker sends what is pending (the shutdone notice), closes every socket and exits.
      this.worker?.postMessage({ cmd: 'stop' } satisfies Command);
      await this.exited;
      this.replies?.close();
    })();
    return this.stopped;
  }

  private mustRun(what: string): void {
    if (this.state !== 'running') throw new Error(`transport: ${what}() while ${this.state === 'stopped' ? 'stopped' : 'not started'}`);
  }

  /** Before start there is no liveness to change; after stop nothing is left to change. */
  private mustHaveStarted(what: string): void {
    if (this.state === 'new' || this.state === 'starting') throw new Error(`transport: ${what}() before start()`);
  }

  /** Commands without an answer; before start the settings travel with the worker's start data. */
  private post(c: Command): void {
    if (this.worker && this.state !== 'stopped') this.worker.postMessage(c);
  }

  /** A command the worker answers before this returns (see worker-protocol.ts). */
  private call(c: Command): unknown {
    const replies = this.replies!;
    this.worker!.postMessage(c);
    const deadline = monoNowMs() + ANSWER_TIMEOUT_MS;
    for (;;) {
      const seen = Atomics.load(this.shared.i32, REPLY_COUNT);
      const got = receiveMessageOnPort(replies);
      if (got) {
        const reply = got.message as Reply;
        if (reply.ok) return reply.value;
        throw rebuildError(reply.error);
      }
      const left = deadline - monoNowMs();
      if (left <= 0) throw new Error(`transport: the packet core's worker thread did not answer ${c.cmd}() within ${ANSWER_TIMEOUT_MS} ms`);
      Atomics.wait(this.shared.i32, REPLY_COUNT, seen, left);
    }
  }

  private onReport(r: Report): void {
    switch (r.type) {
      case 'events':
        deliverEvents(r.events.map(reviveEvent), this.onEvent);
        this.worker?.postMessage({ cmd: 'ack' } satisfies Command);
        return;
      case 'started':
        if (this.state === 'starting') {
          this.state = 'running';
          this.starting?.resolve();
        } else {
          this.starting?.reject(new Error('transport: stopped while starting'));
        }
        this.starting = null;
        return;
      case 'start-failed':
        this.starting?.reject(rebuildError(r.error));
        this.starting = null;
        return;
      case 'stopped':
        return;
    }
  }

  private onExit(code: number): void {
    if (this.stopped === null) this.fail(new Error(`exited with code ${code}`));
  }

  /**
   * The packet core's thread died: no beat goes out any more, so the daemon must not go on as if it
   * did. A failed start rejects; a running transport throws from the next tick (an uncaught
   * exception: the process stops, and the peers take over, as after a stall).
   */
  private fail(cause: Error): void {
    const error = new Error(`transport: the TypeScript packet core's worker thread failed: ${cause.message}; heartbeats stopped`, { cause });
    if (this.starting) {
      this.starting.reject(error);
      this.starting = null;
      return;
    }
    if (this.state !== 'running') return;
    this.state = 'stopped';
    this.onEvent = null;
    if (this.checkInTimer) clearInterval(this.checkInTimer);
    this.checkInTimer = null;
    process.nextTick(() => {
      throw error;
    });
  }
}
