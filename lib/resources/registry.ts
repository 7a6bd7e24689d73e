// haresources resources → runnable Resources, one place for the daemon, `hbd resource` and the
// tests: built-in IPaddr/IPaddr2/IPv6addr over the address backend, systemd::UNIT, and scripts
// from resource.d or /etc/init.d. Also picks the address backend that goes with the transport.
import { parseBuiltinArgs, isBuiltin } from '../config/resource-args';
import type { ClusterConfig, Resource as ResourceDecl, ResourceGroup } from '../config/types';
import type { AddressBackend, AnnounceOptions } from './address';
import { Iproute2Backend, type Iproute2Options } from './address-iproute2';
import type { ActionTimeouts } from './command-action';
import type { CommandRunner } from './exec';
import { GroupRunner, type GroupOptions } from './group';
import { IpResource } from './ip-resource';
import type { ResourceLog } from './log';
import type { Resource } from './resource';
import { haEnvironment, ScriptResource } from './script';
import { SystemdResource } from './systemd';

export interface RegistryOptions {
  readonly configDir: string;
  /** The scripts' whole environment: haEnvironment(config). */
  readonly env: Readonly<Record<string, string>>;
  readonly backend: AddressBackend;
  readonly log: ResourceLog;
  readonly timeouts?: ActionTimeouts;
  /** Runs scripts and systemctl (tests: prefixedRunner(['ip', 'netns', 'exec', NS])). */
  readonly runner?: CommandRunner;
  readonly initDir?: string;
  /** Overrides the agents' gratuitous-ARP defaults (ip-resource.ts ANNOUNCE_DEFAULTS). */
  readonly announce?: AnnounceOptions;
}

/**
 * The Resource for one parsed haresources resource. Built-in arguments were validated when the
 * configuration was read (parseResourceText); this re-parses them, so it throws only for a
 * declaration that did not come from the parser.
 */
export function createResource(decl: ResourceDecl, opts: RegistryOptions): Resource {
  const common = { env: opts.env, log: opts.log, timeouts: opts.timeouts, runner: opts.runner };
  if (!isBuiltin(decl.script)) return new ScriptResource(decl.text, decl.script, decl.args, { ...common, configDir: opts.configDir, initDir: opts.initDir });
  const parsed = parseBuiltinArgs(decl.script, decl.args);
  if (!parsed.ok) throw new Error(`resource [${decl.text}] (line ${decl.line}): ${parsed.message}`);
  const a = parsed.value;
  if (a.type === 'systemd') return new SystemdResource(decl.text, a.unit, common);
  return new IpResource(decl.text, a, decl.args[0], opts.backend, opts.log, opts.announce);
}

/** The runner for one haresources group: `runner.acquire()`, `runner.release()`, `runner.status()`. */
export function createGroupRunner(group: ResourceGroup, opts: RegistryOptions & Omit<GroupOptions, 'log'>): GroupRunner {
  return new GroupRunner({ key: group.key, node: group.node, resources: group.resources.map((r) => createResource(r, opts)) }, opts);
}

/** The daemon's options from its configuration: heartbeat's environment, the config dir. */
export function registryOptions(config: ClusterConfig, parts: Omit<RegistryOptions, 'configDir' | 'env'>): RegistryOptions {
  return { ...parts, configDir: config.configDir, env: haEnvironment(config) };
}

/** One runner per haresources group, by group key. */
export function createGroupRunners(config: ClusterConfig, opts: RegistryOptions & Omit<GroupOptions, 'log'>): Map<string, GroupRunner> {
  return new Map(config.resources.map((g) => [g.key, createGroupRunner(g, opts)]));
}

/**
 * The address backend for the transport in use: the native engine's (rtnetlink + AF_PACKET)
 * with the native transport when its factory is given, else iproute2 + arping.
 */
export function selectAddressBackend(transport: 'native' | 'ts', nativeFactory?: () => AddressBackend, iproute2?: Iproute2Options): AddressBackend {
  if (transport === 'native' && nativeFactory) return nativeFactory();
  return new Iproute2Backend(iproute2);
}
