/**
 * What the port mappers share: the ports asked for, the state of each mapping, and what a mapper
 * needs from the layer above. See `port-mapper.ts`.
 */
import type { MappedProtocol } from '../codec/nat-pmp.js';
import type { Runtime } from '../runtime/interfaces.js';

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
