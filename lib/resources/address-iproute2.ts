// The TypeScript fallback's AddressBackend: iproute2 for the address (`ip -j addr show`,
// `ip addr add … label …`, `ip addr del`) and iputils arping for the gratuitous ARP
// (`arping -U`: request form, `arping -A`: reply form, run side by side), resource-agents'
// send_ua for the IPv6 unsolicited neighbour advertisement (sent once duplicate address detection
// has finished, as IPaddr2 does).
//
// Latency (bench/resources/run.ts measures it): every step is a fork+exec, so an add costs one `ip`
// for the listing and one for the change, and the first ARP frame leaves one arping start-up after
// announce() is called; later rounds follow our own timer (this
// arping knows only whole-second intervals), each frame one `arping -c 1`, which lingers ≈1 s
// after sending, so an announce resolves ≈1 s after its last frame. The native backend does the same with
// rtnetlink and an AF_PACKET socket from the engine thread, without processes.
import type { AddResult, AddressBackend, AddressEntry, AnnounceOptions, AnnounceResult, VipSpec } from './address';
import { commandLine, describeExit, outputTail, runCommand, type CommandRunner, type ExecResult } from './exec';
import { monoNowMs } from '../transport/clock';

export interface Iproute2Options {
  /** Runs every command (tests: prefixedRunner(['ip', 'netns', 'exec', NS])). */
  readonly runner?: CommandRunner;
  readonly ip?: string;
  readonly arping?: string;
  readonly sendUa?: string;
  /** Per command; default 5 s (an `ip` call takes milliseconds, this only bounds a wedged one). */
  readonly timeoutMs?: number;
  readonly clock?: () => number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
export const SEND_UA = '/usr/libexec/heartbeat/send_ua';

/** An Error with the errno name, the command as syscall and what the tool said. */
function backendError(code: string, syscall: string, message: string): Error & { code: string; syscall: string } {
  return Object.assign(new Error(message), { code, syscall });
}

/** iproute2's messages → errno names (it prints strerror() of the kernel's answer). */
const ERRNO_TEXT: ReadonlyArray<[RegExp, string]> = [
  [/File exists/i, 'EEXIST'],
  [/Cannot find device|No such device/i, 'ENODEV'],
  [/Operation not permitted/i, 'EPERM'],
  [/Permission denied/i, 'EACCES'],
  [/Cannot assign requested address|Address not found/i, 'EADDRNOTAVAIL'],
  [/Network is down|is down/i, 'ENETDOWN'],
  [/Invalid argument|invalid/i, 'EINVAL'],
  [/No such file or directory|command not found/i, 'ENOENT'],
];

function errnoOf(r: ExecResult): string {
  if (r.spawnError) return r.spawnError.code ?? 'ENOENT';
  if (r.timedOut) return 'ETIMEDOUT';
  const said = `${r.stderr}\n${r.stdout}`;
  return ERRNO_TEXT.find(([re]) => re.test(said))?.[1] ?? 'EIO';
}

interface IpJsonAddr {
  family?: string;
  local?: string;
  prefixlen?: number;
  broadcast?: string;
  label?: string;
}
interface IpJsonLink {
  ifindex?: number;
  ifname?: string;
  flags?: string[];
  addr_info?: IpJsonAddr[];
}

export class Iproute2Backend implements AddressBackend {
  readonly kind = 'iproute2' as const;
  private readonly runner: CommandRunner;
  private readonly ip: string;
  private readonly arping: string;
  private readonly sendUa: string;
  private readonly timeoutMs: number;
  private readonly clock: () => number;

  constructor(opts: Iproute2Options = {}) {
    this.runner = opts.runner ?? runCommand;
    this.ip = opts.ip ?? 'ip';
    this.arping = opts.arping ?? 'arping';
    this.sendUa = opts.sendUa ?? SEND_UA;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.clock = opts.clock ?? monoNowMs;
  }

  private async run(argv: string[], what: string, timeoutMs = this.timeoutMs, onSpawn?: (t: number) => void): Promise<ExecResult> {
    const r = await this.runner(argv, { timeoutMs, onSpawn });
    if (r.code === 0) return r;
    throw backendError(errnoOf(r), what, `${commandLine(argv)}: ${describeExit(r, timeoutMs)}${outputTail(r) ? `: ${outputTail(r)}` : ''}`);
  }

  private async links(iface?: string): Promise<IpJsonLink[]> {
    const r = await this.run([this.ip, '-j', 'addr', 'show', ...(iface ? ['dev', iface] : [])], 'ip addr show');
    try {
      return JSON.parse(r.stdout || '[]') as IpJsonLink[];
    } catch (e) {
      throw backendError('EPROTO', 'ip addr show', `ip -j addr show printed no JSON (${(e as Error).message}); iproute2 ≥ 4.14 is needed`);
    }
  }

  async list(iface?: string): Promise<AddressEntry[]> {
    return toEntries(await this.links(iface));
  }

  async add(vip: VipSpec): Promise<AddResult> {
    const links = await this.links();
    const entries = toEntries(links);
    const found = entries.find((e) => e.family === vip.family && e.address === vip.address);
    if (found && found.iface !== vip.iface) {
      throw backendError('EADDRINUSE', 'ip addr add', `${vip.address} is already on ${found.iface}, not ${vip.iface}: remove it there first`);
    }
    if (found) return { changed: false, label: vip.family === 4 ? found.label : null, atMono: this.clock() };
    const link = links.find((l) => l.ifname === vip.iface);
    if (!link) throw backendError('ENODEV', 'ip addr add', `cannot add ${vip.address}: interface ${vip.iface} does not exist`);
    // heartbeat's IPaddr2 would `ip link set up` here; hbd does not revive an interface an
    // operator took down, and fails the resource instead (the group goes to the other node).
    if (!link.flags?.includes('UP')) throw backendError('ENETDOWN', 'ip addr add', `cannot add ${vip.address}: interface ${vip.iface} is down`);
    const label = vip.family === 4 ? (vip.label ?? firstFreeLabel(vip.iface, entries)) : null;
    const argv = [this.ip, `-${vip.family}`, 'addr', 'add', `${vip.address}/${vip.prefix}`];
    if (vip.family === 4 && vip.broadcast !== null) argv.push('brd', vip.broadcast);
    argv.push('dev', vip.iface);
    if (label !== null && label !== vip.iface) argv.push('label', label);
    try {
      await this.run(argv, 'ip addr add');
    } catch (e) {
      // Added by someone else between our listing and our add: present is what was asked.
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      return { changed: false, label, atMono: this.clock() };
    }
    return { changed: true, label, atMono: this.clock() };
  }

  async remove(vip: VipSpec): Promise<{ readonly changed: boolean; readonly atMono: number }> {
    const found = (await this.list(vip.iface).catch((e: { code?: string }) => (e.code === 'ENODEV' ? [] : Promise.reject(e)))).find(
      (e) => e.family === vip.family && e.address === vip.address,
    );
    if (!found) return { changed: false, atMono: this.clock() };
    try {
      await this.run([this.ip, `-${vip.family}`, 'addr', 'del', `${found.address}/${found.prefix}`, 'dev', vip.iface], 'ip addr del');
    } catch (e) {
      if ((e as { code?: string }).code !== 'EADDRNOTAVAIL') throw e;
      return { changed: false, atMono: this.clock() };
    }
    return { changed: true, atMono: this.clock() };
  }

  async announce(vip: VipSpec, opts: AnnounceOptions): Promise<AnnounceResult> {
    if (!(opts.count >= 1) || !(opts.intervalMs >= 0)) throw backendError('EINVAL', 'announce', `announce: count must be ≥ 1 and intervalMs ≥ 0 (got ${opts.count}, ${opts.intervalMs})`);
    let firstAt = Infinity;
    const spawned = (t: number): void => {
      firstAt = Math.min(firstAt, t);
    };
    if (vip.family === 6) {
      await this.waitForDad(vip);
      // Sending takes (count-1)·interval; the timeout leaves room for start-up on a loaded machine.
      const timeoutMs = (opts.count - 1) * opts.intervalMs + this.timeoutMs;
      const argv = [this.sendUa, '-i', String(opts.intervalMs), '-c', String(opts.count), vip.address, String(vip.prefix), vip.iface];
      const r = await this.run(argv, 'send_ua', timeoutMs, spawned);
      // send_ua exits 0 even when it could not bind the address; it says so on its output.
      if (/ERROR/.test(r.stdout + r.stderr)) throw backendError('EADDRNOTAVAIL', 'send_ua', `${commandLine(argv)}: ${outputTail(r)}`);
      return { firstAtMono: firstAt, frames: opts.count };
    }
    // iputils arping takes whole seconds for -i and lingers an interval after its last frame, so
    // each frame is its own `arping -c 1`, started on our schedule: round k at k·intervalMs.
    const form = (flag: '-U' | '-A'): string[] => [this.arping, '-q', flag, '-c', '1', '-I', vip.iface, vip.address];
    const rounds = Array.from({ length: opts.count }, (_, k) =>
      new Promise<void>((resolve) => setTimeout(resolve, k * opts.intervalMs)).then(() =>
        Promise.all([this.run(form('-U'), 'arping -U', this.timeoutMs, spawned), this.run(form('-A'), 'arping -A', this.timeoutMs, spawned)]),
      ),
    );
    const failed = (await Promise.allSettled(rounds)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { firstAtMono: firstAt, frames: 2 * opts.count };
  }

  /**
   * As IPaddr2's run_send_ua(): a new IPv6 address is `tentative` until duplicate address
   * detection is done (about a second) and cannot be sent from; `dadfailed` means another node
   * has it, and the address is taken away again.
   */
  private async waitForDad(vip: VipSpec): Promise<void> {
    const deadline = this.clock() + DAD_WAIT_MS;
    for (;;) {
      const r = await this.run([this.ip, '-6', '-o', 'addr', 'show', 'dev', vip.iface, 'to', `${vip.address}/128`], 'ip addr show');
      if (/dadfailed/.test(r.stdout)) {
        await this.remove(vip).catch(() => undefined);
        throw backendError('EADDRINUSE', 'DAD', `IPv6 address collision ${vip.address} on ${vip.iface}: another node answered duplicate address detection; the address was removed`);
      }
      if (!/tentative/.test(r.stdout) || this.clock() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, DAD_POLL_MS));
    }
  }
}

const DAD_WAIT_MS = 10_000;
const DAD_POLL_MS = 100;

function toEntries(links: readonly IpJsonLink[]): AddressEntry[] {
  return links.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.local !== undefined && a.prefixlen !== undefined)
      .map((a): AddressEntry => ({
        family: a.family === 'inet' ? 4 : 6,
        iface: l.ifname ?? '',
        ifindex: l.ifindex ?? 0,
        address: a.local!,
        prefix: a.prefixlen!,
        broadcast: a.family === 'inet' ? (a.broadcast ?? null) : null,
        label: a.family === 'inet' ? (a.label ?? l.ifname ?? null) : null,
      })),
  );
}

/** IPaddr's choice: the first `iface:N`, N from 0, that no address on the interface carries. */
export function firstFreeLabel(iface: string, entries: readonly AddressEntry[]): string {
  const used = new Set(entries.filter((e) => e.iface === iface).map((e) => e.label));
  for (let n = 0; ; n++) {
    const label = `${iface}:${n}`;
    if (!used.has(label)) {
      if (label.length > 15) throw backendError('ENAMETOOLONG', 'ip addr add', `no alias label fits in 15 characters for interface ${iface}: give the label explicitly`);
      return label;
    }
  }
}
