/**
 * Opens warren's ports on the home router, as libtorrent and Transmission do, so that peers on
 * the internet can connect to a node behind NAT: NAT-PMP (`nat-pmp-mapper.ts`) on the default
 * gateway and UPnP IGD (`upnp-mapper.ts`) on whatever gateway answers a search, both at once
 * (routers speak one, the other, or both). Mappings are renewed while the node runs and deleted
 * when it closes.
 *
 * Who uses it: `warren node`, `seed` and `get` with port mapping turned on (it is off by default:
 * it changes the router's configuration, and it tells the router, and any device on the LAN that
 * pretends to be one, which ports the node uses).
 */
import { NatPmpMapper } from './nat-pmp-mapper.js';
import type { MapperDeps, MappingProtocol, PortMapping, PortRequest } from './mapping.js';
import { UpnpMapper } from './upnp-mapper.js';
import type { Endpoint } from '../runtime/interfaces.js';

export type { PortMapping, PortRequest } from './mapping.js';

export interface PortMapperOptions {
  ports: readonly PortRequest[];
  /** The NAT-PMP gateway (default: the runtime's default gateway; without one NAT-PMP is not tried). */
  gateway?: string;
  /** Where UPnP searches go (SSDP's multicast group unless a test says otherwise). */
  ssdp?: Endpoint;
  /** The protocols to try (default both). */
  protocols?: readonly MappingProtocol[];
  /** The mappings' description on the router (UPnP shows it). */
  description?: string;
}

export class PortMapper {
  private natPmp: NatPmpMapper | undefined;
  private upnp: UpnpMapper | undefined;
  private started: Promise<void> | undefined;
  private closed = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly deps: MapperDeps,
    private readonly options: PortMapperOptions,
  ) {}

  /** Starts both protocols; resolves when every port is mapped or failed through each. */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  /** Each port through each protocol tried. */
  mappings(): PortMapping[] {
    return [...(this.natPmp?.mappings() ?? []), ...(this.upnp?.mappings() ?? [])].map((m) => ({ ...m }));
  }

  /** The router's external address, as NAT-PMP or UPnP reported it. */
  externalAddress(): string | undefined {
    return this.natPmp?.externalAddress ?? this.upnp?.externalAddress;
  }

  /** The external address and every mapping, as the API's node view and the CLI show them. */
  snapshot(): { externalAddress?: string; mappings: PortMapping[] } {
    const externalAddress = this.externalAddress();
    return { ...(externalAddress === undefined ? {} : { externalAddress }), mappings: this.mappings() };
  }

  /** Answers dropped: from others than the gateway, malformed, or to nothing asked. */
  malformed(): number {
    return (this.natPmp?.malformed ?? 0) + (this.upnp?.malformed ?? 0);
  }

  /** Called whenever a mapping changes state. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops what is in progress, deletes the mappings made and stops renewing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.natPmp?.close(), this.upnp?.close()]);
  }

  private async run(): Promise<void> {
    const protocols = this.options.protocols ?? ['nat-pmp', 'upnp'];
    const changed = (): void => {
      for (const listener of this.listeners) listener();
    };
    const runs: Promise<void>[] = [];
    if (protocols.includes('nat-pmp')) {
      const gateway = this.options.gateway ?? (await this.deps.runtime.defaultGateway?.().catch(() => undefined));
      if (gateway === undefined) this.deps.log('info', 'NAT-PMP: no default gateway, not tried');
      else if (!this.closed) {
        this.natPmp = new NatPmpMapper(this.deps, gateway, this.options.ports, changed);
        runs.push(this.natPmp.start());
      }
    }
    if (protocols.includes('upnp') && !this.closed) {
      this.upnp = new UpnpMapper(this.deps, this.options.ports, { ssdp: this.options.ssdp, description: this.options.description ?? 'warren' }, changed);
      runs.push(this.upnp.start());
    }
    await Promise.all(runs);
  }
}
