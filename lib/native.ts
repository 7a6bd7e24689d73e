// The one place that loads the C++ addon. Everything native goes through `loadNative()`,
// which honours HBD_TRANSPORT (native|ts|auto) and HBD_REQUIRE_NATIVE=1, and always says
// why the addon is not in use so that `hbd status` and the logs can report it.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { AuthMethod, WireFormat } from './wire/types';
import type { AddResult, AddressEntry, VipSpec } from './resources/address';
import type { EngineConstructor, LivenessTrackerConstructor } from './transport/native';

/** The raw surface exported by native/addon.cc. Keep in step with that file. */
export interface NativeBinding {
  readonly abiVersion: number;
  authToken(method: AuthMethod, key: Buffer, data: Buffer): string;
  /**
   * The wire codec over the packed forms of native/packed.h (lib/wire/native-pack.ts packs and
   * unpacks; lib/wire/native-codec.ts is the typed surface). The result is written to `out`;
   * the return value is its length, or minus the length needed when `out` is too small.
   * Bad input throws an Error with .code (DecodeErrorCode), .offset and .detail.
   */
  decodePacked(packet: Buffer, keys: Buffer | null, out: Buffer): number;
  /** As decodePacked; a message the format cannot carry throws an Error with .path and .detail. */
  encodePacked(message: Buffer, format: WireFormat, keys: Buffer, out: Buffer): number;
  /** The heartbeat engine thread (lib/transport/native.ts wraps it into a Transport). */
  readonly Engine: EngineConstructor;
  /** The engine's C++ liveness twin, for the shared suite in test/liveness.test.ts. */
  readonly LivenessTracker: LivenessTrackerConstructor;
  /** CLOCK_MONOTONIC in ms, the clock of every engine event. */
  monoNow(): number;
  /**
   * Address actions over rtnetlink (native/actions_js.cc), synchronous. Failures throw an Error
   * with .code (errno name), .syscall ('RTM_NEWADDR', 'if_nametoindex' …) and a message naming the
   * address and interface; a bad VipSpec throws a TypeError naming the field.
   */
  addressAdd(vip: VipSpec): AddResult;
  addressRemove(vip: VipSpec): { readonly changed: boolean; readonly atMono: number };
  /** IPv4 and IPv6 addresses, of one interface or (null) of all. */
  addressList(iface: string | null): AddressEntry[];
  /**
   * Starts announcing `vip` on a native thread of its own: `count` rounds `intervalMs` apart (the
   * first at once), then one round every `refreshMs` (0/absent: none) until announceCancel(id).
   * Throws at once for an unknown or non-Ethernet interface or a missing CAP_NET_RAW.
   */
  announceStart(vip: VipSpec, opts: { count: number; intervalMs: number; refreshMs?: number }, onEvent: (e: AnnounceEvent) => void): number;
  /** false when that announcement had already ended. */
  announceCancel(id: number): boolean;
  /**
   * systemd's sd_notify: sends `text` ("READY=1", "STOPPING=1") to $NOTIFY_SOCKET. False when that
   * is not set; throws an Error with .syscall and .code when the datagram cannot be sent.
   */
  sdNotify(text: string): boolean;
}

export type AnnounceEvent =
  | { readonly type: 'first'; readonly atMono: number }
  | { readonly type: 'burst-done'; readonly firstAtMono: number | null; readonly frames: number }
  /** A round failed (told again only when the errno changes); the schedule goes on. */
  | { readonly type: 'error'; readonly error: NodeJS.ErrnoException; readonly frames: number }
  /** The last event of an announcement: its burst is over (no refresh) or it was cancelled. */
  | { readonly type: 'ended'; readonly frames: number };

export type TransportChoice = 'native' | 'ts' | 'auto';

export type NativeLoad =
  | { readonly binding: NativeBinding; readonly reason: null }
  | { readonly binding: null; readonly reason: string };

export class NativeUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NativeUnavailableError';
  }
}

const packageRoot = path.resolve(__dirname, '..', '..');

/** Parses HBD_TRANSPORT; anything else is a usage error naming the variable. */
export function transportChoice(env: NodeJS.ProcessEnv = process.env): TransportChoice {
  const v = (env.HBD_TRANSPORT ?? 'auto').trim().toLowerCase();
  if (v === 'native' || v === 'ts' || v === 'auto' || v === '') return (v || 'auto') as TransportChoice;
  throw new NativeUnavailableError(`HBD_TRANSPORT=${env.HBD_TRANSPORT}: expected native, ts or auto`);
}

function buildStatusReason(root: string): string | null {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(root, 'build', 'native-status.json'), 'utf8'));
    return s && s.ok === false && typeof s.reason === 'string' ? s.reason : null;
  } catch {
    return null;
  }
}

function attempt(env: NodeJS.ProcessEnv): NativeLoad {
  // HBD_ADDON_DIR points the loader elsewhere (tests use it to hide the addon).
  const root = env.HBD_ADDON_DIR ? path.resolve(env.HBD_ADDON_DIR) : packageRoot;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => unknown;
    const b = load(root) as NativeBinding;
    if (typeof b?.authToken !== 'function') return { binding: null, reason: `addon in ${root} has an unexpected surface` };
    return { binding: b, reason: null };
  } catch (e) {
    const why = buildStatusReason(root) ?? (e as Error).message.split('\n')[0];
    return { binding: null, reason: `native addon not loaded: ${why}` };
  }
}

let cached: { key: string; load: NativeLoad } | null = null;

/**
 * Loads the addon according to the environment. Throws NativeUnavailableError when the
 * addon is demanded (HBD_TRANSPORT=native, or HBD_REQUIRE_NATIVE=1 with auto) but cannot load.
 */
export function loadNative(env: NodeJS.ProcessEnv = process.env): NativeLoad {
  const choice = transportChoice(env);
  const key = `${choice}|${env.HBD_REQUIRE_NATIVE ?? ''}|${env.HBD_ADDON_DIR ?? ''}`;
  if (cached?.key === key) return cached.load;
  let load: NativeLoad;
  if (choice === 'ts') {
    load = { binding: null, reason: 'HBD_TRANSPORT=ts selects the pure-TypeScript implementation' };
  } else {
    load = attempt(env);
    if (load.binding === null && (choice === 'native' || env.HBD_REQUIRE_NATIVE === '1')) {
      const by = choice === 'native' ? 'HBD_TRANSPORT=native' : 'HBD_REQUIRE_NATIVE=1';
      throw new NativeUnavailableError(`${load.reason} (${by} requires it; run \`npm rebuild hbd\` or unset ${by.split('=')[0]})`);
    }
  }
  cached = { key, load };
  return load;
}
