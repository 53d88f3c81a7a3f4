/**
 * What the port mappers share: the ports asked for, the state of each mapping, and what a mapper
 * needs from the layer above. See `port-mapper.ts`.
 */
import type { MappedProtocol } from '../codec/nat-pmp.js';
import type { Runtime, Timer } from '../runtime/interfaces.js';

export type { MappedProtocol } from '../codec/nat-pmp.js';

/** A port to open on the router: the same number outside as inside, where the router allows it. */
export interface PortRequest {
  protocol: MappedProtocol;
  port: number;
}

/** The protocols a router may speak. */
export type MappingProtocol = 'nat-pmp' | 'upnp';

/** One port through one protocol. */
export interface PortMapping {
  protocol: MappedProtocol;
  internalPort: number;
  via: MappingProtocol;
  /** `mapping`: asking; `mapped`: the router forwards it; `failed`: see `error`. */
  state: 'mapping' | 'mapped' | 'failed';
  /** The port the router forwards, once mapped. */
  externalPort?: number;
  /** Why the router did not map it (or did not answer). */
  error?: string;
}

export interface MapperDeps {
  runtime: Runtime;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
}

/** Lifetime asked for a mapping, in seconds (RFC 6886 recommends 7200); renewed at half of what the router grants. */
export const LIFETIME_SECONDS = 7200;
/** Renewal that failed is tried again after this long. */
export const RETRY_MS = 60_000;

/** How each protocol is named to people. */
export const MAPPING_PROTOCOL_NAMES: Readonly<Record<MappingProtocol, string>> = { 'nat-pmp': 'NAT-PMP', upnp: 'UPnP' };

/**
 * The mappings one protocol keeps: each port's state, the timer that maps it again (to renew it,
 * or to try again after a failure), and the log lines and change reports of each state change.
 */
export class MappingSet {
  readonly states: PortMapping[];
  private readonly timers = new Map<PortMapping, Timer>();
  private stopped = false;

  constructor(
    private readonly deps: MapperDeps,
    readonly via: MappingProtocol,
    ports: readonly PortRequest[],
    /** Maps one port (again). */
    private readonly map: (state: PortMapping) => Promise<void>,
    private readonly onChange: () => void,
  ) {
    this.states = ports.map((p) => ({ protocol: p.protocol, internalPort: p.port, via, state: 'mapping' }));
  }

  /** Maps `state` again in `ms` (replacing what was scheduled for it), unless stopped. */
  schedule(state: PortMapping, ms: number): void {
    this.timers.get(state)?.cancel();
    if (this.stopped) return;
    this.timers.set(state, this.deps.runtime.setTimer(ms, () => void this.map(state)));
  }

  /** Marks `state` mapped at `externalPort`; `how` ("to 1.2.3.4:6881 for 7200 s") is logged when that is news. */
  mapped(state: PortMapping, externalPort: number, how: string): void {
    const news = state.state !== 'mapped' || state.externalPort !== externalPort;
    state.state = 'mapped';
    state.externalPort = externalPort;
    state.error = undefined;
    if (!news) return;
    this.deps.log('info', `${MAPPING_PROTOCOL_NAMES[this.via]}: ${state.protocol.toUpperCase()} port ${state.internalPort} is mapped ${how}`);
    this.onChange();
  }

  /** Marks `state` failed, for `error`; logged and reported once per distinct error. */
  fail(state: PortMapping, error: string): void {
    if (state.state === 'failed' && state.error === error) return;
    state.state = 'failed';
    state.error = error;
    this.deps.log('info', `${MAPPING_PROTOCOL_NAMES[this.via]}: could not map ${state.protocol.toUpperCase()} port ${state.internalPort}: ${error}`);
    this.onChange();
  }

  /** Stops every timer; nothing is scheduled any more. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
  }
}
