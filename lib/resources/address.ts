// The seam between resource policy and the kernel's address state: one interface, two backends —
// the native addon (rtnetlink + AF_PACKET, lib/resources/address-native.ts) and iproute2 + arping
// for the TypeScript fallback (lib/resources/address-iproute2.ts). Both are idempotent: adding an
// address that is present, or removing one that is gone, succeeds with `changed: false`.

/** One virtual address as an IPaddr/IPaddr2/IPv6addr resource names it, fully resolved. */
export interface VipSpec {
  readonly family: 4 | 6;
  /** Interface the address lives on (never an alias label). */
  readonly iface: string;
  readonly address: string;
  readonly prefix: number;
  /** IPv4 only; null: none (IPaddr2 computes one with `brd +` semantics when asked). */
  readonly broadcast: string | null;
  /**
   * IPv4 alias label. `null`: the backend picks the first free `iface:N` (N from 0, as IPaddr does);
   * a string: exactly this label (≤ 15 characters, must start with `iface:`).
   */
  readonly label: string | null;
}

export interface AddressEntry {
  readonly family: 4 | 6;
  readonly iface: string;
  readonly ifindex: number;
  readonly address: string;
  readonly prefix: number;
  readonly broadcast: string | null;
  readonly label: string | null;
}

export interface AddResult {
  /** false: it was already there (on `iface`). */
  readonly changed: boolean;
  /** The label the address carries now (IPv4), null for IPv6. */
  readonly label: string | null;
  /** CLOCK_MONOTONIC ms at which the kernel acknowledged the change (or found it present). */
  readonly atMono: number;
}

export interface AnnounceOptions {
  /** Frames per form (gratuitous ARP: one request and one reply each round; IPv6: one unsolicited NA). */
  readonly count: number;
  readonly intervalMs: number;
}

export interface AnnounceResult {
  /** CLOCK_MONOTONIC ms at which the first frame left. */
  readonly firstAtMono: number;
  readonly frames: number;
}

/**
 * Errors are Error objects with `code` (errno name, e.g. 'EADDRINUSE', 'ENODEV'), `syscall`
 * ('RTM_NEWADDR', 'sendto', 'ip addr add' …) and a message naming address and interface.
 * Adding an address that is present on another interface fails with code 'EADDRINUSE'.
 */
export interface AddressBackend {
  readonly kind: 'native' | 'iproute2';
  add(vip: VipSpec): Promise<AddResult>;
  remove(vip: VipSpec): Promise<{ readonly changed: boolean; readonly atMono: number }>;
  list(iface?: string): Promise<AddressEntry[]>;
  /** Gratuitous ARP (IPv4, request and reply forms) or unsolicited neighbour advertisement (IPv6). */
  announce(vip: VipSpec, opts: AnnounceOptions): Promise<AnnounceResult>;
}
