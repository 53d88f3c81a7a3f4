/**
 * NAT-PMP (RFC 6886): the port-mapping protocol of Apple's routers and of miniupnpd (the daemon
 * of OpenWrt and most Linux routers), over UDP to the default gateway's port 5351.
 *
 * A client sends an external-address request (2 bytes) or a mapping request (12 bytes: protocol,
 * internal port, suggested external port, lifetime in seconds; lifetime 0 deletes the mapping).
 * The gateway answers with the request's opcode + 128, a result code and its epoch (seconds since
 * its mappings were last lost). A client must drop an answer from anyone but the gateway, of
 * another version, or that does not answer what it asked.
 */
import { DecodeError } from './errors.js';

export const NAT_PMP_PORT = 5351;
const VERSION = 0;
const OP_EXTERNAL_ADDRESS = 0;
const OP_MAP = { udp: 1, tcp: 2 } as const;
const ANSWER = 128;

export type MappedProtocol = 'tcp' | 'udp';

/** The result codes of RFC 6886 section 3.5, as a reason a person can read. */
export const NAT_PMP_RESULTS: Readonly<Record<number, string>> = {
  1: 'unsupported version',
  2: 'not authorized (the router has NAT-PMP turned off for this client)',
  3: 'network failure (the router has no external address yet)',
  4: 'out of resources (the router cannot make more mappings)',
  5: 'unsupported opcode',
};

/** A gateway's answer to an external-address request. */
export interface ExternalAddressAnswer {
  kind: 'external-address';
  result: number;
  /** Seconds since the gateway's mappings were last reset. */
  epoch: number;
  /** Dotted IPv4. */
  address: string;
}

/** A gateway's answer to a mapping request. */
export interface MappingAnswer {
  kind: 'mapping';
  protocol: MappedProtocol;
  result: number;
  epoch: number;
  internalPort: number;
  /** The port the gateway forwards (it may differ from the one suggested); 0 after a delete. */
  externalPort: number;
  /** Seconds the mapping lasts (the gateway may shorten what was asked). */
  lifetime: number;
}

export type NatPmpAnswer = ExternalAddressAnswer | MappingAnswer;

/** The external-address request. */
export function encodeExternalAddressRequest(): Uint8Array {
  return new Uint8Array([VERSION, OP_EXTERNAL_ADDRESS]);
}

/** A mapping request; `lifetime` 0 (with `externalPort` 0) deletes the mapping of `internalPort`. */
export function encodeMappingRequest(protocol: MappedProtocol, internalPort: number, externalPort: number, lifetime: number): Uint8Array {
  for (const [what, port] of [['internal', internalPort], ['external', externalPort]] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`${what} port ${port} is not 0-65535`);
  }
  if (!Number.isInteger(lifetime) || lifetime < 0 || lifetime > 0xffffffff) throw new RangeError(`lifetime ${lifetime} is not a 32-bit number of seconds`);
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  bytes[0] = VERSION;
  bytes[1] = OP_MAP[protocol];
  view.setUint16(4, internalPort);
  view.setUint16(6, externalPort);
  view.setUint32(8, lifetime);
  return bytes;
}

/**
 * Decodes a gateway's answer. Throws `DecodeError` for anything else: another version, a request
 * (opcode below 128), an unknown opcode, a wrong length. An answer with a non-zero result code may
 * be shorter than a successful one (RFC 6886 3.5: only the first 8 bytes are then meaningful).
 */
export function decodeNatPmpAnswer(bytes: Uint8Array): NatPmpAnswer {
  if (bytes.length < 8) throw new DecodeError(`NAT-PMP answer of ${bytes.length} bytes, at least 8 expected`);
  if (bytes[0] !== VERSION) throw new DecodeError(`NAT-PMP answer of version ${bytes[0]}, 0 expected`);
  const op = bytes[1]!;
  if (op < ANSWER) throw new DecodeError(`NAT-PMP opcode ${op} is a request, not an answer`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const result = view.getUint16(2);
  const epoch = view.getUint32(4);
  const full = op === ANSWER + OP_EXTERNAL_ADDRESS ? 12 : 16;
  if (op - ANSWER !== OP_EXTERNAL_ADDRESS && op - ANSWER !== OP_MAP.udp && op - ANSWER !== OP_MAP.tcp) {
    throw new DecodeError(`NAT-PMP answer with unknown opcode ${op}`);
  }
  if (bytes.length !== full && !(result !== 0 && bytes.length === 8)) {
    throw new DecodeError(`NAT-PMP answer to opcode ${op - ANSWER} of ${bytes.length} bytes, ${full} expected`);
  }
  const short = bytes.length === 8;
  if (op === ANSWER + OP_EXTERNAL_ADDRESS) {
    return { kind: 'external-address', result, epoch, address: short ? '0.0.0.0' : Array.from(bytes.subarray(8, 12)).join('.') };
  }
  return {
    kind: 'mapping',
    protocol: op - ANSWER === OP_MAP.udp ? 'udp' : 'tcp',
    result,
    epoch,
    internalPort: short ? 0 : view.getUint16(8),
    externalPort: short ? 0 : view.getUint16(10),
    lifetime: short ? 0 : view.getUint32(12),
  };
}
