// Chooses the packet core: the native engine when the addon loads (or is demanded), else the
// pure-TypeScript transport, and says why.
import { loadNative } from '../native';
import { createNativeTransport } from './native';
import type { Transport, TransportOptions } from './types';
import { createUdpTransport } from './udp';

export interface TransportChoiceResult {
  readonly transport: Transport;
  /** Why the native engine is not in use (null when it is). */
  readonly fallbackReason: string | null;
}

/** Throws NativeUnavailableError when HBD_TRANSPORT=native / HBD_REQUIRE_NATIVE=1 cannot be met. */
export function selectTransport(opts: TransportOptions, env: NodeJS.ProcessEnv = process.env): TransportChoiceResult {
  const load = loadNative(env);
  if (load.binding) return { transport: createNativeTransport(opts), fallbackReason: null };
  return { transport: createUdpTransport(opts), fallbackReason: load.reason };
}
