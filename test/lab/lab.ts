// A throw-away cluster network for multi-node tests, built from network namespaces:
//
//   <prefix>sw                 the switch: one bridge <prefix>br<k> per medium k, multicast
//                              snooping off (multicast floods like broadcast), STP off
//   <prefix>n1 … <prefix>n<N>  the nodes: eth<k> = 198.18.<k>.<i>/24 (brd 198.18.<k>.255), lo up,
//                              IPv6 off; the cable is a veth pair whose other end, <prefix>p<i>k<k>,
//                              is a port of bridge k
//
// Nothing is created in the root namespace: every ip command names its namespace (-n), and the
// veth peers are born inside the node namespaces. teardown() (also run from a process exit or
// SIGINT safety net) kills what the lab started and deletes its namespaces, which deletes every
// link in them.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Capture, DEFAULT_CAPTURE_FILTER } from './capture';
import { NetemOptions, Relay, relaySettings } from './impair';
import { LabProcess } from './process';
import { cleanupAtExit } from './safety-net';
import { Topology, randomPrefix, validateShape } from './topology';
import { RunOptions, RunResult, ipBatch, ipIn, run, runSync, tool } from './tools';

export interface LabOptions {
  nodes: number;
  /** Media per node (bridges on the switch, ethN per node); default 1. */
  links?: number;
  /** Keep the temp directories (and say where) when the lab is torn down after a failure. */
  keepOnFailure?: boolean;
}

/** Per-node directories under the lab's temp directory. */
export interface NodeDirs {
  root: string;
  config: string;
  state: string;
  run: string;
  logs: string;
}

export interface ConfigFiles {
  haCf: string;
  authkeys: string;
  haresources?: string;
}

export interface SpawnOptions {
  /** Added to (and overriding) this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The log file the process writes itself; waitFor reads it (default: its standard output). */
  logFile?: string;
  /** Label for file names and errors (default: the program's base name). */
  name?: string;
}

/** A node may be named by its LabNode or its number (1-based). */
export type NodeRef = LabNode | number;

/** [node number, medium]. */
type Cable = [number, number];

// bin/hbd, from dist/test/lab/ once compiled.
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const PROCESS_STOP_GRACE_MS = 2_000;
const SWEEP_MS = 2_000;
const CABLE_READY_MS = 5_000;

export class LabNode {
  readonly name: string;
  readonly ns: string;
  readonly dirs: NodeDirs;
  private spawned = 0;

  /** @internal built by Lab.create */
  constructor(
    private readonly topo: Topology,
    readonly index: number,
    labRoot: string,
    private readonly track: (p: LabProcess) => void,
  ) {
    this.name = topo.nodeName(index);
    this.ns = topo.nodeNs(index);
    const root = path.join(labRoot, this.name);
    this.dirs = {
      root,
      config: path.join(root, 'etc'),
      state: path.join(root, 'state'),
      run: path.join(root, 'run'),
      logs: path.join(root, 'logs'),
    };
    for (const dir of Object.values(this.dirs)) fs.mkdirSync(dir, { recursive: true });
  }

  /** Interface name of medium k (eth<k>). */
  iface(k = 0): string {
    return this.topo.iface(k);
  }

  /** 198.18.<k>.<index>. */
  address(k = 0): string {
    return this.topo.address(this.index, k);
  }

  broadcast(k = 0): string {
    return this.topo.broadcast(k);
  }

  /** Runs argv in the node's namespace to completion (bounded, default 10 s); rejects on failure. */
  exec(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    checkArgv(argv, `${this.name}.exec`);
    return run([tool('ip'), 'netns', 'exec', this.ns, ...argv], opts);
  }

  /**
   * Starts argv in the node's namespace, its stdout and stderr in dirs.logs/<name>-<n>.out/.err.
   * `ip netns exec` execs the program in place, so the handle's PID is the program's own.
   */
  spawn(argv: readonly string[], opts: SpawnOptions = {}): Promise<LabProcess> {
    checkArgv(argv, `${this.name}.spawn`);
    const label = (opts.name ?? path.basename(argv[0])).replace(/[^\w.-]/g, '_');
    const base = path.join(this.dirs.logs, `${label}-${++this.spawned}`);
    return LabProcess.start([tool('ip'), 'netns', 'exec', this.ns, ...argv], {
      name: `${this.name} ${label}`,
      stdoutPath: `${base}.out`,
      stderrPath: `${base}.err`,
      logFile: opts.logFile,
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
    }).then((p) => {
      this.track(p);
      return p;
    });
  }

  /** Writes ha.cf, authkeys (mode 600, as heartbeat demands) and haresources into dirs.config. */
  writeConfig(files: ConfigFiles): { haCf: string; authkeys: string; haresources: string } {
    const where = {
      haCf: path.join(this.dirs.config, 'ha.cf'),
      authkeys: path.join(this.dirs.config, 'authkeys'),
      haresources: path.join(this.dirs.config, 'haresources'),
    };
    fs.writeFileSync(where.haCf, files.haCf);
    fs.writeFileSync(where.authkeys, files.authkeys, { mode: 0o600 });
    fs.chmodSync(where.authkeys, 0o600); // the mode option does not apply to an existing file
    fs.writeFileSync(where.haresources, files.haresources ?? '');
    return where;
  }

  /** argv that starts hbd as this node with its own directories (for spawn). */
  hbdArgv(subcommand = 'start'): string[] {
    return [
      process.execPath, path.join(REPO_ROOT, 'bin', 'hbd'), subcommand,
      '-c', this.dirs.config, '--node', this.name, '--state-dir', this.dirs.state, '--run-dir', this.dirs.run,
    ];
  }

  /** Kernel interface index of eth<k> in the node's namespace. */
  async ifindex(k = 0): Promise<number> {
    const r = await ipIn(this.ns, ['-j', 'link', 'show', 'dev', this.iface(k)]);
    const index = (JSON.parse(r.stdout) as Array<{ ifindex?: number }>)[0]?.ifindex;
    if (typeof index !== 'number') throw new Error(`${this.name}: no ifindex for ${this.iface(k)} in: ${r.stdout.trim()}`);
    return index;
  }
}

function checkArgv(argv: readonly string[], where: string): void {
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    throw new TypeError(`${where}: argv must be a non-empty array of strings (got ${JSON.stringify(argv)})`);
  }
}

export class Lab {
  readonly nodes: readonly LabNode[];
  /** Temp directory holding the nodes' directories, captures and relay files. */
  readonly root: string;
  private readonly switchDir: string;
  private readonly processes = new Set<LabProcess>();
  private readonly relays = new Map<string, Relay>();
  private readonly captures = new Set<Capture>();
  /** Namespaces this lab created, the only ones teardown deletes. */
  private readonly namespaces: string[] = [];
  private captureCount = 0;
  private relayCount = 0;
  private teardownDone: Promise<void> | null = null;
  private readonly releaseSafetyNet: () => void;

  private constructor(
    readonly topology: Topology,
    private readonly keepOnFailure: boolean,
  ) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `hbd-lab-${topology.prefix}-`));
    this.switchDir = path.join(this.root, 'switch');
    fs.mkdirSync(this.switchDir);
    this.releaseSafetyNet = cleanupAtExit(() => this.teardownSync());
    const track = (p: LabProcess): void => this.track(p);
    this.nodes = topology.nodeIndexes().map((i) => new LabNode(topology, i, this.root, track));
  }

  /** Builds the lab; on any failure, removes what was built and rejects naming the step. */
  static async create(opts: LabOptions): Promise<Lab> {
    const shape = validateShape(opts ?? {});
    const lab = new Lab(new Topology(await unusedPrefix(), shape), opts.keepOnFailure ?? false);
    try {
      await lab.build();
      return lab;
    } catch (e) {
      await lab.teardown({ failed: true }).catch((t: Error) => console.error(`network lab: teardown: ${t.message}`));
      throw new Error(`Lab.create(${JSON.stringify(opts)}): ${(e as Error).message}`);
    }
  }

  get prefix(): string {
    return this.topology.prefix;
  }

  get switchNs(): string {
    return this.topology.switchNs;
  }

  /** PIDs of every process the lab started that is still running. */
  get pids(): number[] {
    return [...this.processes].filter((p) => p.running).map((p) => p.pid);
  }

  /** Node by number (1-based) or name ('n2'). */
  node(ref: number | string): LabNode {
    const node = typeof ref === 'number' ? this.nodes[ref - 1] : this.nodes.find((n) => n.name === ref);
    if (!node) throw new RangeError(`network lab: no node ${JSON.stringify(ref)} (nodes are n1..n${this.nodes.length})`);
    return node;
  }

  /** Bridge of medium k in the switch namespace. */
  bridge(k: number): string {
    return this.topology.bridge(k);
  }

  private async build(): Promise<void> {
    const t = this.topology;
    for (const ns of t.namespaces) {
      await run([tool('ip'), 'netns', 'add', ns]);
      this.namespaces.push(ns);
    }
    await Promise.all(
      t.namespaces.map((ns) =>
        run([tool('ip'), 'netns', 'exec', ns, tool('sysctl'), '-q', '-w',
          'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']),
      ),
    );
    const bridges = t.mediaIndexes().flatMap((k) => [
      `link add ${t.bridge(k)} type bridge mcast_snooping 0 stp_state 0`,
      `link set ${t.bridge(k)} up`,
    ]);
    const cables = t.nodeIndexes().flatMap((i) => t.mediaIndexes().flatMap((k) => this.switchSideOfCable(i, k)));
    await ipBatch(t.switchNs, [...bridges, ...cables]);
    await Promise.all(
      t.nodeIndexes().map((i) =>
        ipBatch(t.nodeNs(i), ['link set lo up', ...t.mediaIndexes().flatMap((k) => this.nodeSideOfCable(i, k))]),
      ),
    );
    await this.waitForCables(t.nodeIndexes().flatMap((i) => t.mediaIndexes().map((k): Cable => [i, k])));
  }

  /**
   * Waits (bounded) until the cables carry traffic: the node's interface operationally up and the
   * cable's bridge port forwarding. The kernel applies carrier changes asynchronously, so a frame
   * sent right after `ip link set … up` can still be dropped.
   */
  private async waitForCables(cables: Cable[]): Promise<void> {
    const deadline = Date.now() + CABLE_READY_MS;
    for (;;) {
      const notReady = await this.cablesNotReady(cables);
      if (notReady.length === 0) return;
      if (Date.now() >= deadline) {
        throw new Error(`not carrying traffic after ${CABLE_READY_MS} ms: ${notReady.join(', ')} (ip -n <ns> -d link show)`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async cablesNotReady(cables: Cable[]): Promise<string[]> {
    const t = this.topology;
    const nodes = [...new Set(cables.map(([i]) => i))];
    const [sw, ...inNodes] = await Promise.all([this.switchNs, ...nodes.map((i) => t.nodeNs(i))].map(linkStates));
    return cables
      .filter(([i, k]) => {
        const bridgePort = this.relays.has(`${i}/${k}`) ? t.relayBridgeEnd(i, k) : t.port(i, k);
        const nodeSide = inNodes[nodes.indexOf(i)].get(t.iface(k));
        return nodeSide?.operstate !== 'UP' || sw.get(bridgePort)?.bridgeState !== 'forwarding';
      })
      .map(([i, k]) => `${t.nodeName(i)} ${t.iface(k)}`);
  }

  /** Creates node i's veth on medium k (the node end born in its namespace) and plugs it into the bridge. */
  private switchSideOfCable(i: number, k: number): string[] {
    const t = this.topology;
    return [
      `link add ${t.port(i, k)} type veth peer name ${t.iface(k)} address ${t.mac(i, k)} netns ${t.nodeNs(i)}`,
      `link set ${t.port(i, k)} master ${t.bridge(k)} up`,
    ];
  }

  private nodeSideOfCable(i: number, k: number): string[] {
    const t = this.topology;
    return [`addr add ${t.cidr(i, k)} brd + dev ${t.iface(k)}`, `link set ${t.iface(k)} up`];
  }

  private track(p: LabProcess): void {
    this.processes.add(p);
    void p.exited.then(() => this.processes.delete(p));
  }

  private ref(node: NodeRef): number {
    const i = typeof node === 'number' ? node : node.index;
    this.node(i); // throws a clear error for a node that does not exist
    return i;
  }

  /**
   * Pulls node's cable out of the switch on medium k: the switch-side end goes down, so the node
   * sees its eth<k> lose carrier (NO-CARRIER, operstate LOWERLAYERDOWN) while it stays
   * administratively up with its address, as with a real unplugged cable. For a silent failure
   * (carrier up, nothing gets through) use netem(node, k, { lossPct: 100 }).
   */
  async cutLink(node: NodeRef, k: number): Promise<void> {
    await ipIn(this.switchNs, ['link', 'set', this.topology.port(this.ref(node), k), 'down']);
  }

  /** Plugs the cable back in (switch-side end up); resolves once it carries traffic again. */
  async restoreLink(node: NodeRef, k: number): Promise<void> {
    const i = this.ref(node);
    await ipIn(this.switchNs, ['link', 'set', this.topology.port(i, k), 'up']);
    await this.waitForCables([[i, k]]);
  }

  /**
   * Loss, delay and jitter on node's cable on medium k, in both directions unless opts.direction
   * says otherwise (see impair.ts for why this is a relay, not tc netem). Calling it again
   * replaces the settings without interrupting the cable.
   */
  async netem(node: NodeRef, k: number, opts: NetemOptions): Promise<void> {
    const i = this.ref(node);
    const settings = relaySettings(opts);
    const key = `${i}/${k}`;
    const existing = this.relays.get(key);
    if (existing) {
      await existing.set(settings);
      return;
    }
    const t = this.topology;
    const base = path.join(this.switchDir, `relay-n${i}-k${k}-${++this.relayCount}`);
    const relay = await Relay.insert(
      {
        name: `relay n${i} eth${k}`,
        switchNs: this.switchNs,
        bridge: t.bridge(k),
        port: t.port(i, k),
        relayEnd: t.relayEnd(i, k),
        bridgeEnd: t.relayBridgeEnd(i, k),
        scriptPath: path.join(this.switchDir, 'relay.py'),
        stdoutPath: `${base}.out`,
        stderrPath: `${base}.err`,
      },
      settings,
      (p) => this.track(p),
    );
    this.relays.set(key, relay);
    await this.waitForCables([[i, k]]);
  }

  /** Removes the impairment from node's cable on medium k (no-op when there is none). */
  async clearNetem(node: NodeRef, k: number): Promise<void> {
    const i = this.ref(node);
    const relay = this.relays.get(`${i}/${k}`);
    if (!relay) return;
    this.relays.delete(`${i}/${k}`);
    await relay.remove();
    await this.waitForCables([[i, k]]);
  }

  /**
   * Deletes node's eth<k> (and so its whole veth pair), as when a NIC disappears. Any impairment on
   * that cable is cleared first.
   */
  async removeInterface(node: NodeRef, k: number): Promise<void> {
    const i = this.ref(node);
    await this.clearNetem(i, k);
    await ipIn(this.topology.nodeNs(i), ['link', 'del', this.topology.iface(k)]);
  }

  /**
   * Creates eth<k> again with the same name, MAC and address, plugged into the same bridge. The
   * kernel gives it a new ifindex (interface indexes are not reused within a namespace).
   */
  async recreateInterface(node: NodeRef, k: number): Promise<void> {
    const i = this.ref(node);
    await ipBatch(this.switchNs, this.switchSideOfCable(i, k));
    await ipBatch(this.topology.nodeNs(i), this.nodeSideOfCable(i, k));
    await this.waitForCables([[i, k]]);
  }

  /**
   * Starts tcpdump on bridge k in the switch namespace (filter default 'udp port 694'), writing
   * <root>/captures/<name>.pcap with nanosecond timestamps when tcpdump supports them; resolves
   * once tcpdump is listening.
   */
  async startCapture(k: number, opts: { filter?: string; name?: string } = {}): Promise<Capture> {
    const dir = path.join(this.root, 'captures');
    fs.mkdirSync(dir, { recursive: true });
    const name = (opts.name ?? `br${k}-${++this.captureCount}`).replace(/[^\w.-]/g, '_');
    const capture = await Capture.start(
      {
        name: `capture ${name}`,
        switchNs: this.switchNs,
        iface: this.bridge(k),
        pcapPath: path.join(dir, `${name}.pcap`),
        stderrPath: path.join(dir, `${name}.tcpdump.err`),
        filter: opts.filter ?? DEFAULT_CAPTURE_FILTER,
      },
      (p) => this.track(p),
    );
    this.captures.add(capture);
    return capture;
  }

  /**
   * Stops captures (flushed), then every process the lab started (SIGTERM to its group, SIGKILL
   * after 2 s), then anything still inside the lab's namespaces (all of it descends from those
   * processes), deletes the namespaces and the temp directory (kept after a failure when
   * keepOnFailure). Idempotent: later calls return the first call's promise.
   */
  teardown(opts: { failed?: boolean } = {}): Promise<void> {
    this.teardownDone ??= this.teardownOnce(opts.failed ?? false);
    return this.teardownDone;
  }

  private async teardownOnce(failed: boolean): Promise<void> {
    const problems: string[] = [];
    const note = (what: string) => (e: unknown) => void problems.push(`${what}: ${(e as Error).message}`);
    await Promise.all([...this.captures].map((c) => c.stop().catch(note('capture'))));
    for (const relay of this.relays.values()) relay.process.stdin?.end();
    this.relays.clear();
    await Promise.all([...this.processes].map((p) => p.stop('SIGTERM', PROCESS_STOP_GRACE_MS)));
    for (const p of this.processes) if (p.running) problems.push(`${p.name} (pid ${p.pid}) survived SIGKILL`);
    for (const ns of this.namespaces) await this.emptyNamespace(ns).catch(note(`emptying ${ns}`));
    for (const ns of [...this.namespaces]) {
      await run([tool('ip'), 'netns', 'del', ns])
        .then(() => this.namespaces.splice(this.namespaces.indexOf(ns), 1))
        .catch(note(`deleting ${ns}`));
    }
    this.removeRoot(failed || problems.length > 0);
    this.releaseSafetyNet();
    if (problems.length) throw new Error(`network lab ${this.prefix} teardown: ${problems.join('; ')}`);
  }

  /** SIGKILLs what is left in namespace ns (forked children that left their group) and waits for it to go. */
  private async emptyNamespace(ns: string): Promise<void> {
    const deadline = Date.now() + SWEEP_MS;
    for (;;) {
      const pids = namespacePids(await run([tool('ip'), 'netns', 'pids', ns], { allowFailure: true }));
      if (pids.length === 0) return;
      if (Date.now() >= deadline) throw new Error(`processes ${pids.join(', ')} are still running in it`);
      for (const pid of pids) killQuietly(pid);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private removeRoot(failed: boolean): void {
    if (failed && this.keepOnFailure) {
      console.error(`network lab ${this.prefix}: kept its files for inspection in ${this.root}`);
      return;
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  /** Exit-time twin of teardown: no awaiting, so SIGKILL at once. */
  private teardownSync(): void {
    for (const p of this.processes) p.signalGroup('SIGKILL');
    for (const ns of this.namespaces) {
      for (const pid of namespacePids(runSync([tool('ip'), 'netns', 'pids', ns]))) killQuietly(pid);
      runSync([tool('ip'), 'netns', 'del', ns]);
    }
    this.removeRoot(true);
  }
}

interface LinkState {
  operstate: string;
  /** STP state of a bridge port ('forwarding', 'disabled', …); undefined for other links. */
  bridgeState?: string;
}

async function linkStates(ns: string): Promise<Map<string, LinkState>> {
  const r = await ipIn(ns, ['-j', '-d', 'link', 'show']);
  type Row = { ifname: string; operstate: string; linkinfo?: { info_slave_data?: { state?: string } } };
  return new Map(
    (JSON.parse(r.stdout) as Row[]).map((l) => [l.ifname, { operstate: l.operstate, bridgeState: l.linkinfo?.info_slave_data?.state }]),
  );
}

function namespacePids(r: RunResult): number[] {
  return r.stdout
    .split('\n')
    .map((s) => Number.parseInt(s, 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A fresh prefix that no existing namespace starts with (another run may be going on). */
async function unusedPrefix(): Promise<string> {
  const existing = (await run([tool('ip'), 'netns', 'list'])).stdout;
  for (let attempt = 0; attempt < 16; attempt++) {
    const prefix = randomPrefix();
    if (!existing.split('\n').some((line) => line.startsWith(prefix))) return prefix;
  }
  throw new Error('no unused namespace prefix after 16 tries: are stale hb* namespaces piling up? (`ip netns list`)');
}

/** Runs fn with a fresh lab and always tears it down (keeping files after a failure if asked). */
export async function withLab<T>(opts: LabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await Lab.create(opts);
  let failed = true;
  try {
    const result = await fn(lab);
    failed = false;
    return result;
  } finally {
    try {
      await lab.teardown({ failed });
    } catch (e) {
      // After a failure, the test's own error is the one to report.
      if (!failed) throw e;
      console.error((e as Error).message);
    }
  }
}
