/**
 * Maps ports through a UPnP Internet Gateway Device: searches the LAN with SSDP, reads the first
 * gateway's description, and calls AddPortMapping on its WAN connection service for each port,
 * leased for `LIFETIME_SECONDS` and renewed at half of it (a router that takes only permanent
 * leases, error 725, gets lease 0 and no renewals; a port another host holds, error 718, is mapped
 * at a random external port instead). Close calls DeletePortMapping.
 *
 * A search answer is taken only when its LOCATION names the host that sent it, and the control
 * URL must be on that host too: a device on the LAN cannot send us to make HTTP requests
 * elsewhere. Answers that are not SSDP, or point elsewhere, are dropped and counted.
 */
import { DecodeError } from '../codec/errors.js';
import { canonicalIp } from '../codec/ip.js';
import {
  encodeSoapCall,
  encodeSsdpSearch,
  findWanConnection,
  IGD_SEARCH_TARGETS,
  parseSoapAnswer,
  parseSsdpAnswer,
  SSDP_ADDRESS,
  type SoapResult,
  type WanConnection,
} from '../codec/upnp.js';
import type { Endpoint, Timer, UdpSocket } from '../runtime/interfaces.js';
import { httpCall } from './http-call.js';
import { LIFETIME_SECONDS, MappingSet, RETRY_MS, type MapperDeps, type PortMapping, type PortRequest } from './mapping.js';

/** How long gateways get to answer a search (the search is sent again after 1 s). */
const SEARCH_MS = 3000;
/** How long one HTTP call to the gateway may take. */
const CALL_TIMEOUT_MS = 5000;
/** UPnP error: the router takes only leases of 0 (permanent). */
const ONLY_PERMANENT_LEASES = 725;
/** UPnP error: the external port is mapped to another host. */
const CONFLICT = 718;
/** External ports tried for one mapping when each is taken (the first is the internal port). */
const CONFLICT_TRIES = 4;

export interface UpnpMapperOptions {
  /** Where searches go (SSDP's multicast group unless a test says otherwise). */
  ssdp?: Endpoint;
  /** The mappings' description on the router. */
  description: string;
}

export class UpnpMapper {
  /** Search answers dropped: not SSDP, or pointing away from the host that sent them. */
  malformed = 0;
  externalAddress: string | undefined;
  private readonly set: MappingSet;
  private service: WanConnection | undefined;
  /** The address the gateway knows us by (the local end of our connections to it). */
  private localHost: string | undefined;
  private lease = LIFETIME_SECONDS;
  private closed = false;
  /** Ends a search in progress (on close). */
  private stopSearch: (() => void) | undefined;

  constructor(
    private readonly deps: MapperDeps,
    ports: readonly PortRequest[],
    private readonly options: UpnpMapperOptions,
    onChange: () => void,
  ) {
    this.set = new MappingSet(deps, 'upnp', ports, (state) => this.map(state), onChange);
  }

  mappings(): readonly PortMapping[] {
    return this.set.states;
  }

  /** Finds the gateway and maps every port; resolves when each is mapped or failed. */
  async start(): Promise<void> {
    let service: WanConnection;
    try {
      service = await this.findGateway();
    } catch (error) {
      for (const state of this.set.states) this.set.fail(state, (error as Error).message);
      return;
    }
    if (this.closed) return;
    this.service = service;
    const address = await this.call('GetExternalIPAddress', []).catch(() => undefined);
    if (address?.ok) this.externalAddress = address.values.get('NewExternalIPAddress') || undefined;
    await Promise.all(this.set.states.map((state) => this.map(state)));
  }

  /** Deletes the mappings made (at most `CALL_TIMEOUT_MS` each, all at once), and stops. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopSearch?.();
    this.set.stop();
    const mapped = this.set.states.filter((s) => s.state === 'mapped');
    await Promise.all(
      mapped.map((state) =>
        this.call('DeletePortMapping', [
          ['NewRemoteHost', ''],
          ['NewExternalPort', state.externalPort!],
          ['NewProtocol', state.protocol.toUpperCase()],
        ]).catch((error: Error) => this.deps.log('debug', `UPnP: DeletePortMapping of ${state.protocol.toUpperCase()} ${state.externalPort} failed: ${error.message}`)),
      ),
    );
  }

  /** Searches until a gateway answers with a description that has a WAN connection service. */
  private async findGateway(): Promise<WanConnection> {
    const runtime = this.deps.runtime;
    const socket: UdpSocket = await runtime.udp({ host: '0.0.0.0', port: 0 });
    const to = this.options.ssdp ?? SSDP_ADDRESS;
    const tried = new Set<string>();
    const reasons: string[] = [];
    try {
      return await new Promise<WanConnection>((resolve, reject) => {
        const timers: Timer[] = [];
        let pending = 0;
        let searching = true;
        const end = (): void => {
          searching = false;
          for (const t of timers) t.cancel();
        };
        const giveUp = (): void => {
          if (pending > 0 || !searching) return;
          end();
          reject(new Error(reasons.length > 0 ? reasons.join('; ') : 'no UPnP gateway answered on the LAN'));
        };
        this.stopSearch = () => {
          if (!searching) return;
          end();
          reject(new Error('closed'));
        };
        socket.onMessage((data, from) => {
          if (!searching) return;
          let location: URL;
          try {
            location = parseSsdpAnswer(data).location;
          } catch (error) {
            if (!(error instanceof DecodeError)) throw error;
            this.malformed++;
            return;
          }
          const host = canonicalIp(location.hostname.replace(/^\[(.*)\]$/, '$1'));
          if (host !== from.host) {
            this.malformed++;
            this.deps.log('debug', `UPnP: ignored ${from.host}'s answer pointing at ${location.host}`);
            return;
          }
          if (tried.has(location.href)) return;
          tried.add(location.href);
          pending++;
          this.describe(location).then(
            (service) => {
              pending--;
              if (!searching) return;
              end();
              resolve(service);
            },
            (error: Error) => {
              pending--;
              reasons.push(`${location.host}: ${error.message}`);
              if (timers.length === 0) giveUp();
            },
          );
        });
        const search = (): void => {
          for (const target of IGD_SEARCH_TARGETS) socket.send(encodeSsdpSearch(target), to);
        };
        search();
        timers.push(runtime.setTimer(1000, search));
        timers.push(
          runtime.setTimer(SEARCH_MS, () => {
            timers.length = 0;
            giveUp();
          }),
        );
      });
    } finally {
      this.stopSearch = undefined;
      socket.close();
    }
  }

  /** Reads a device description; its WAN connection service, on the same host. */
  private async describe(location: URL): Promise<WanConnection> {
    const { answer, localHost } = await httpCall(this.deps.runtime, location, { method: 'GET' }, CALL_TIMEOUT_MS);
    if (answer.status !== 200) throw new Error(`its description answered HTTP ${answer.status}`);
    const service = findWanConnection(new TextDecoder('utf-8').decode(answer.body), location);
    if (!service) throw new Error('it is not a gateway with a WAN connection service');
    if (service.controlUrl.host !== location.host) throw new Error(`its control URL points elsewhere (${service.controlUrl.host})`);
    this.localHost = localHost;
    return service;
  }

  /**
   * Maps one port: at the external port it has (the internal one at first). When another host
   * holds that port on the router (error 718, two warrens on one LAN, say), a random port above
   * 1024 is tried instead, up to `CONFLICT_TRIES` times; the swarm then announces it.
   */
  private async map(state: PortMapping): Promise<void> {
    if (this.closed || !this.service) return;
    const add = (externalPort: number, lease: number): Promise<SoapResult> =>
      this.call('AddPortMapping', [
        ['NewRemoteHost', ''],
        ['NewExternalPort', externalPort],
        ['NewProtocol', state.protocol.toUpperCase()],
        ['NewInternalPort', state.internalPort],
        ['NewInternalClient', this.localHost!],
        ['NewEnabled', 1],
        ['NewPortMappingDescription', this.options.description],
        ['NewLeaseDuration', lease],
      ]);
    let externalPort = state.externalPort ?? state.internalPort;
    let result: SoapResult;
    try {
      for (let tries = 1; ; tries++) {
        const asked = this.lease;
        result = await add(externalPort, asked);
        if (!result.ok && result.code === ONLY_PERMANENT_LEASES && asked !== 0) {
          this.lease = 0;
          result = await add(externalPort, 0);
        }
        if (result.ok || result.code !== CONFLICT || tries >= CONFLICT_TRIES || this.closed) break;
        externalPort = 1025 + Math.floor(this.deps.runtime.random() * (65535 - 1025));
      }
    } catch (error) {
      result = { ok: false, code: 0, reason: (error as Error).message };
    }
    if (this.closed) return;
    if (!result.ok) {
      this.set.fail(state, result.code === 0 ? result.reason : `the gateway refused: ${result.reason} (UPnP error ${result.code})`);
      this.set.schedule(state, RETRY_MS);
      return;
    }
    this.set.mapped(state, externalPort, `to ${this.externalAddress ?? 'the gateway'}:${externalPort} ${this.lease === 0 ? 'permanently' : `for ${this.lease} s`}`);
    if (this.lease > 0) this.set.schedule(state, (this.lease * 1000) / 2);
  }

  /** A SOAP call to the gateway's WAN connection service. */
  private async call(action: string, args: readonly (readonly [string, string | number])[]): Promise<SoapResult> {
    const service = this.service!;
    const { body, soapAction } = encodeSoapCall(service.serviceType, action, args);
    const { answer } = await httpCall(
      this.deps.runtime,
      service.controlUrl,
      { method: 'POST', headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: soapAction }, body },
      CALL_TIMEOUT_MS,
    );
    try {
      return parseSoapAnswer(answer.status, answer.body, action);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      throw new Error(`bad ${action} answer from the gateway: ${error.message}`);
    }
  }
}
