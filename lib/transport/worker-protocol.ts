// What lib/transport/udp.ts (the main thread) and lib/transport/udp-worker.ts (the packet core's
// thread) say to each other, and the memory they share.
//
// Commands go main → worker as messages, in order. send() and retransmit() must answer
// synchronously (the Transport seam returns the seq and the RetransmitResult), so for them the main
// thread waits on the shared reply counter and takes the answer from a MessagePort of its own with
// receiveMessageOnPort: the worker is the one authority for seqs, history and throttling, and
// no state is mirrored. Check-ins and heartbeat's hiseq need no message at all: they are shared
// memory, read and written with Atomics. Events go worker → main in chunks, each acknowledged.
import type { MessagePort } from 'node:worker_threads';

import { FT_LIST, FT_STRUCT, type AuthKeys, type Field, type Message } from '../wire/types';
import type { TransportEvent, TransportOptions } from './types';

/** Shared memory: two BigInt64 slots, then one Int32 slot. */
export const SHARED_BYTES = 24;
export interface Shared {
  /** [HIGHEST_SEQ]: the last seq given (worker writes); [LAST_CHECK_IN]: µs mono of the last check-in (main writes). */
  readonly big: BigInt64Array;
  /** [REPLY_COUNT]: bumped by the worker after each synchronous answer (main waits on it). */
  readonly i32: Int32Array;
}
export const HIGHEST_SEQ = 0;
export const LAST_CHECK_IN = 1;
export const REPLY_COUNT = 0;

export function sharedViews(sab: SharedArrayBuffer): Shared {
  return { big: new BigInt64Array(sab, 0, 2), i32: new Int32Array(sab, 16, 1) };
}

/** The settings a transport takes before start (they shape the first status). */
export interface StartSettings {
  readonly status: 'up' | 'active';
  readonly bumpMs: number;
  readonly flowControl: boolean;
}

export interface WorkerData {
  readonly options: TransportOptions;
  readonly settings: StartSettings;
  readonly shared: SharedArrayBuffer;
  /** Where synchronous answers go (the main thread reads them with receiveMessageOnPort). */
  readonly replies: MessagePort;
}

export type Command =
  | { readonly cmd: 'set-status'; readonly status: 'up' | 'active' }
  | { readonly cmd: 'deadtime-bump'; readonly extraMs: number }
  | { readonly cmd: 'comm-up' }
  | { readonly cmd: 'flow-control'; readonly on: boolean }
  | { readonly cmd: 'mark-dead'; readonly node: string }
  | { readonly cmd: 'set-auth-keys'; readonly keys: AuthKeys }
  /** Answered synchronously: Reply with value seq | null. */
  | { readonly cmd: 'send'; readonly message: Message }
  /** Answered synchronously: Reply with a RetransmitResult. */
  | { readonly cmd: 'retransmit'; readonly seq: number }
  /** The main thread delivered the last chunk of events: the next may come. */
  | { readonly cmd: 'ack' }
  | { readonly cmd: 'stop' };

/** An error crossing the thread boundary: enough to rebuild it with its class. */
export interface ErrorData {
  readonly name: string;
  readonly message: string;
  readonly path?: string;
  readonly medium?: string;
  readonly iface?: string;
  readonly syscall?: string;
  readonly code?: string;
}

export type Reply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: ErrorData };

export type Report =
  | { readonly type: 'events'; readonly events: readonly TransportEvent[] }
  | { readonly type: 'started' }
  | { readonly type: 'start-failed'; readonly error: ErrorData }
  | { readonly type: 'stopped' };

export function errorData(e: unknown): ErrorData {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const x = e as Error & Partial<Record<'path' | 'medium' | 'iface' | 'syscall' | 'code', unknown>>;
  const text = (k: 'path' | 'medium' | 'iface' | 'syscall' | 'code') => (typeof x[k] === 'string' ? { [k]: x[k] as string } : {});
  return { name: e.name, message: e.message, ...text('path'), ...text('medium'), ...text('iface'), ...text('syscall'), ...text('code') };
}

/**
 * A message's bytes gathered into one ArrayBuffer of their own, for postMessage. A structured clone
 * copies the whole ArrayBuffer behind each view, and small Buffers are slices of Node's shared 8 KB
 * pool: unpacked, every field would drag (and pin, on the other side) a copy of the pool.
 */
export function packMessage(m: Message): Message {
  let size = 0;
  const measure = (fields: Message): void => {
    for (const f of fields) {
      if (f.type === FT_STRUCT) measure(f.value);
      else if (f.type === FT_LIST) for (const b of f.value) size += b.length;
      else size += f.value.length;
    }
  };
  measure(m);
  const arena = Buffer.from(new ArrayBuffer(size));
  let at = 0;
  const copy = (b: Buffer): Buffer => {
    const view = arena.subarray(at, at + b.length);
    b.copy(view);
    at += b.length;
    return view;
  };
  const pack = (fields: Message): Message =>
    fields.map((f): Field => {
      switch (f.type) {
        case FT_STRUCT:
          return { ...f, value: pack(f.value) };
        case FT_LIST:
          return { ...f, value: f.value.map(copy) };
        default:
          return { ...f, value: copy(f.value) };
      }
    });
  return pack(m);
}

export function packEvent(e: TransportEvent): TransportEvent {
  return e.type === 'status' || e.type === 'message' ? { ...e, message: packMessage(e.message) } : e;
}

/** A structured clone turns every Buffer into a plain Uint8Array: these make them Buffers again. */
export function buffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

export function reviveMessage(m: Message): Message {
  return m.map(reviveField);
}

function reviveField(f: Field): Field {
  switch (f.type) {
    case FT_STRUCT:
      return { ...f, value: reviveMessage(f.value) };
    case FT_LIST:
      return { ...f, value: f.value.map(buffer) };
    default:
      return { ...f, value: buffer(f.value) };
  }
}

export function reviveEvent(e: TransportEvent): TransportEvent {
  return e.type === 'status' || e.type === 'message' ? { ...e, message: reviveMessage(e.message) } : e;
}

/** Keys as structured clone delivers them (Uint8Array): Buffers again. */
export function reviveAuthKeys(keys: AuthKeys): AuthKeys {
  return { ...keys, keys: keys.keys.map((k) => ({ ...k, key: buffer(k.key) })) };
}

export function reviveOptions(o: TransportOptions): TransportOptions {
  return { ...o, uuid: buffer(o.uuid), authKeys: reviveAuthKeys(o.authKeys) };
}
