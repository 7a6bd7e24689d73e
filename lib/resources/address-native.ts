// AddressBackend over the native addon (native/actions_js.cc): rtnetlink for the addresses, an
// AF_PACKET socket for gratuitous ARP (both forms) and unsolicited neighbour advertisements. The
// netlink calls are synchronous (microseconds); announcements run on a native thread of their own,
// so a burst keeps its timing whatever the event loop is doing.
import { loadNative, NativeUnavailableError, type AnnounceEvent, type NativeBinding } from '../native';
import type { AddResult, AddressBackend, AddressEntry, AnnounceOptions, AnnounceResult, VipSpec } from './address';

/** IPaddr2's send_arp defaults (arp_count 5, arp_interval 200 ms): the burst at takeover unless configured. */
export const DEFAULT_ANNOUNCE: AnnounceOptions = Object.freeze({ count: 5, intervalMs: 200 });

export interface RefreshHandle {
  /** Stops the refresh; resolves once its thread has ended. */
  stop(): Promise<void>;
}

export interface NativeAddressBackend extends AddressBackend {
  readonly kind: 'native';
  /** As AddressBackend.announce; onFirst is called (from the burst's thread, via the event loop) when the first frame has left. */
  announce(vip: VipSpec, opts: AnnounceOptions, onFirst?: (atMono: number) => void): Promise<AnnounceResult>;
  /**
   * Re-announces `vip` every `everyMs` (≥ 10) while it is held, until stop(). A failing round is
   * passed to onError when it starts failing or its errno changes, not once per round.
   */
  refresh(vip: VipSpec, everyMs: number, onError?: (e: NodeJS.ErrnoException) => void): RefreshHandle;
}

function requireBinding(): NativeBinding {
  const load = loadNative();
  if (!load.binding) throw new NativeUnavailableError(load.reason);
  return load.binding;
}

export function createNativeAddressBackend(binding: NativeBinding = requireBinding()): NativeAddressBackend {
  return {
    kind: 'native',

    async add(vip: VipSpec): Promise<AddResult> {
      return binding.addressAdd(vip);
    },

    async remove(vip: VipSpec): Promise<{ readonly changed: boolean; readonly atMono: number }> {
      return binding.addressRemove(vip);
    },

    async list(iface?: string): Promise<AddressEntry[]> {
      return binding.addressList(iface ?? null);
    },

    /**
     * Resolves when the burst is over, with the time its first frame left. Rejects with the first
     * failure when no frame left at all (interface down: ENETDOWN); a burst that got some frames out
     * counts as announced.
     */
    announce(vip: VipSpec, opts: AnnounceOptions, onFirst?: (atMono: number) => void): Promise<AnnounceResult> {
      return new Promise((resolve, reject) => {
        let firstError: NodeJS.ErrnoException | null = null;
        binding.announceStart(vip, { count: opts.count, intervalMs: opts.intervalMs }, (e: AnnounceEvent) => {
          if (e.type === 'first') onFirst?.(e.atMono);
          if (e.type === 'error') firstError ??= e.error;
          if (e.type !== 'burst-done') return;
          if (e.firstAtMono === null) reject(firstError ?? new Error(`announce ${vip.address} on ${vip.iface}: no frame left`));
          else resolve({ firstAtMono: e.firstAtMono, frames: e.frames });
        });
      });
    },

    refresh(vip: VipSpec, everyMs: number, onError?: (e: NodeJS.ErrnoException) => void): RefreshHandle {
      let ended!: () => void;
      const done = new Promise<void>((r) => (ended = r));
      // count 1 with the refresh period: the first round at once, then one every everyMs.
      const id = binding.announceStart(vip, { count: 1, intervalMs: everyMs, refreshMs: everyMs }, (e: AnnounceEvent) => {
        if (e.type === 'error') onError?.(e.error);
        if (e.type === 'ended') ended();
      });
      return {
        stop: async () => {
          binding.announceCancel(id);
          await done;
        },
      };
    },
  };
}
