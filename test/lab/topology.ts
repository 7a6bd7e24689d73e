// Names and addresses of everything a lab creates, derived from its per-run prefix: pure, so the
// rules (≤ 15-character interface names, 198.18.0.0/15 only) are checked in one place.

import * as crypto from 'node:crypto';

export const MAX_NODES = 99;
export const MAX_MEDIA = 9;
/** Linux IFNAMSIZ less the terminating NUL. */
export const MAX_IFNAME = 15;

export interface LabShape {
  nodes: number;
  /** Media (switch bridges, and interfaces per node). */
  media: number;
}

/** `hb` and 4 random hex digits: short enough to leave room in interface names. */
export function randomPrefix(): string {
  return 'hb' + crypto.randomBytes(2).toString('hex');
}

/** Checks Lab.create's counts; throws an error naming the option, its range and the value given. */
export function validateShape(opts: { nodes?: unknown; links?: unknown }): LabShape {
  const check = (name: string, value: unknown, max: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
      throw new RangeError(`Lab.create: option '${name}' must be an integer from 1 to ${max} (got ${JSON.stringify(value)})`);
    }
    return value;
  };
  return { nodes: check('nodes', opts.nodes, MAX_NODES), media: check('links', opts.links ?? 1, MAX_MEDIA) };
}

/** Names and addresses of one lab; nodes count from 1, media from 0 (medium k is ethk). */
export class Topology {
  constructor(
    readonly prefix: string,
    readonly shape: LabShape,
  ) {
    if (!/^hb[0-9a-f]{4}$/.test(prefix)) throw new Error(`Topology: prefix '${prefix}' is not 'hb' and 4 hex digits`);
  }

  get switchNs(): string {
    return `${this.prefix}sw`;
  }

  nodeNs(i: number): string {
    return `${this.prefix}${this.nodeName(this.node(i))}`;
  }

  nodeName(i: number): string {
    return `n${this.node(i)}`;
  }

  /** Every namespace of the lab, switch first. */
  get namespaces(): string[] {
    return [this.switchNs, ...this.nodeIndexes().map((i) => this.nodeNs(i))];
  }

  nodeIndexes(): number[] {
    return Array.from({ length: this.shape.nodes }, (_, j) => j + 1);
  }

  mediaIndexes(): number[] {
    return Array.from({ length: this.shape.media }, (_, k) => k);
  }

  /** Bridge of medium k, in the switch namespace. */
  bridge(k: number): string {
    return this.ifname(`br${this.medium(k)}`);
  }

  /** Switch-side end of node i's cable on medium k (a bridge port unless impaired). */
  port(i: number, k: number): string {
    return this.ifname(`p${this.node(i)}k${this.medium(k)}`);
  }

  /** Impairment relay's pair on that cable: the end the relay holds, and the end in the bridge. */
  relayEnd(i: number, k: number): string {
    return this.ifname(`r${this.node(i)}k${this.medium(k)}`);
  }

  relayBridgeEnd(i: number, k: number): string {
    return this.ifname(`b${this.node(i)}k${this.medium(k)}`);
  }

  /** Node-side interface name: the same on every node, as on a real cluster. */
  iface(k: number): string {
    return `eth${this.medium(k)}`;
  }

  /** 198.18.<k>.<i>: inside the 198.18.0.0/15 benchmarking range, never routed anywhere. */
  address(i: number, k: number): string {
    return `198.18.${this.medium(k)}.${this.node(i)}`;
  }

  cidr(i: number, k: number): string {
    return `${this.address(i, k)}/24`;
  }

  broadcast(k: number): string {
    return `198.18.${this.medium(k)}.255`;
  }

  /** Fixed, locally administered MAC, so a recreated interface keeps the address peers cached. */
  mac(i: number, k: number): string {
    const hex = (n: number): string => n.toString(16).padStart(2, '0');
    return `02:68:62:00:${hex(this.medium(k))}:${hex(this.node(i))}`;
  }

  private ifname(suffix: string): string {
    const name = this.prefix + suffix;
    if (name.length > MAX_IFNAME) throw new Error(`Topology: interface name ${name} is longer than ${MAX_IFNAME} characters`);
    return name;
  }

  private node(i: number): number {
    if (!Number.isInteger(i) || i < 1 || i > this.shape.nodes) {
      throw new RangeError(`network lab: node ${i} does not exist (nodes are 1..${this.shape.nodes})`);
    }
    return i;
  }

  private medium(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k >= this.shape.media) {
      throw new RangeError(`network lab: medium ${k} does not exist (media are 0..${this.shape.media - 1})`);
    }
    return k;
  }
}
