/**
 * uTP packets (BEP 29, the Micro Transport Protocol): the 20-byte header every uTP datagram starts
 * with, the chain of extensions after it, and the payload. libtorrent, Transmission, qBittorrent and
 * µTorrent carry the peer wire protocol over uTP as well as TCP, on the same port number.
 *
 *   0       4       8               16              24              32
 *   +-------+-------+---------------+---------------+---------------+
 *   | type  | ver 1 | extension     | connection_id                 |
 *   | timestamp_microseconds                                        |
 *   | timestamp_difference_microseconds                             |
 *   | wnd_size                                                      |
 *   | seq_nr                        | ack_nr                        |
 *   +---------------------------------------------------------------+
 *
 * Each extension is `next extension type (u8), length (u8), length bytes`. Type 1 is the selective
 * ack: a bitmask of received packets past `ack_nr + 1`, bit 0 of byte 0 standing for `ack_nr + 2`
 * (we send multiples of 4 bytes, as BEP 29 says; we take any length, as libtorrent sends).
 * Other types are skipped. All fields are big-endian. Pure: no I/O, no Node-only APIs.
 */
import { DecodeError } from './errors.js';

/** Packet types. DATA and FIN take a sequence number; STATE (an ack) and RESET do not; SYN opens. */
export const UTP_DATA = 0;
export const UTP_FIN = 1;
export const UTP_STATE = 2;
export const UTP_RESET = 3;
export const UTP_SYN = 4;
export type UtpPacketType = typeof UTP_DATA | typeof UTP_FIN | typeof UTP_STATE | typeof UTP_RESET | typeof UTP_SYN;

/** The protocol version this codec speaks (and the only one that exists). */
export const UTP_VERSION = 1;
/** Bytes of the fixed header. */
export const UTP_HEADER_LENGTH = 20;
/** Extension type of the selective ack. */
export const UTP_EXTENSION_SACK = 1;
/** Longest selective-ack bitmask accepted or sent: 32 bytes cover 256 packets past the ack. */
export const UTP_MAX_SACK_BYTES = 32;

/** One decoded uTP packet. Sequence and ack numbers are 16-bit, timestamps 32-bit, all wrapping. */
export interface UtpPacket {
  type: UtpPacketType;
  connectionId: number;
  /** The sender's clock in microseconds, modulo 2^32. */
  timestamp: number;
  /** The sender's clock minus the timestamp of the last packet it received, modulo 2^32 (0 before any). */
  timestampDiff: number;
  /** Bytes the sender can still take in (its advertised receive window). */
  windowSize: number;
  seq: number;
  ack: number;
  /** Selective ack bitmask, when the sender has packets past a gap (sent: a multiple of 4 bytes; received: 1 to 32 bytes). */
  selectiveAck?: Uint8Array;
  /** The data (a view of the datagram); only DATA packets carry any. */
  payload: Uint8Array;
}

/** The header fields of a packet. */
export type UtpHeader = Omit<UtpPacket, 'selectiveAck' | 'payload'>;

/**
 * Writes the 20-byte header at the start of `datagram`, naming no extension: for a DATA packet
 * whose payload is already in place after it (`encodeUtpPacket` builds whole packets).
 */
export function writeUtpHeader(datagram: Uint8Array, header: UtpHeader): void {
  datagram[0] = (header.type << 4) | UTP_VERSION;
  datagram[1] = 0;
  put16(datagram, 2, header.connectionId);
  put32(datagram, 4, header.timestamp);
  put32(datagram, 8, header.timestampDiff);
  put32(datagram, 12, header.windowSize);
  put16(datagram, 16, header.seq);
  put16(datagram, 18, header.ack);
}

/** Encodes a packet into one datagram. */
export function encodeUtpPacket(packet: UtpPacket): Uint8Array {
  const sack = packet.selectiveAck;
  if (sack && (sack.length === 0 || sack.length % 4 !== 0 || sack.length > UTP_MAX_SACK_BYTES)) {
    throw new RangeError(`selective ack must be 4 to ${UTP_MAX_SACK_BYTES} bytes in steps of 4, got ${sack.length}`);
  }
  const extensionLength = sack ? 2 + sack.length : 0;
  const out = new Uint8Array(UTP_HEADER_LENGTH + extensionLength + packet.payload.length);
  writeUtpHeader(out, packet);
  if (sack) {
    out[1] = UTP_EXTENSION_SACK;
    out[20] = 0;
    out[21] = sack.length;
    out.set(sack, 22);
  }
  out.set(packet.payload, UTP_HEADER_LENGTH + extensionLength);
  return out;
}

/**
 * Decodes one datagram. Throws `DecodeError` for anything that is not a uTP version 1 packet: too
 * short, an unknown type or version, an extension running past the end. Payload on other packets
 * than DATA is returned; the connection ignores it.
 */
export function decodeUtpPacket(datagram: Uint8Array): UtpPacket {
  if (datagram.length < UTP_HEADER_LENGTH) throw new DecodeError(`uTP packet of ${datagram.length} bytes is shorter than its ${UTP_HEADER_LENGTH}-byte header`);
  const version = datagram[0] & 0x0f;
  if (version !== UTP_VERSION) throw new DecodeError(`uTP version ${version} is not supported`);
  const type = datagram[0] >> 4;
  if (type > UTP_SYN) throw new DecodeError(`uTP packet type ${type} is unknown`);
  let selectiveAck: Uint8Array | undefined;
  let extension = datagram[1];
  let offset = UTP_HEADER_LENGTH;
  // Every extension takes at least two bytes, so the chain ends within the datagram.
  while (extension !== 0) {
    if (offset + 2 > datagram.length) throw new DecodeError('uTP extension header runs past the end of the packet');
    const next = datagram[offset];
    const length = datagram[offset + 1];
    const start = offset + 2;
    if (start + length > datagram.length) throw new DecodeError(`uTP extension of ${length} bytes runs past the end of the packet`);
    // BEP 29 asks for a multiple of 4 bytes, but libtorrent sizes the mask to what it needs (58
    // bytes, say): any length is taken, an empty one means no mask, and beyond our longest the
    // rest says nothing we act on.
    if (extension === UTP_EXTENSION_SACK && length > 0) selectiveAck = datagram.subarray(start, start + Math.min(length, UTP_MAX_SACK_BYTES));
    extension = next;
    offset = start + length;
  }
  const payload = datagram.subarray(offset);
  return {
    type: type as UtpPacketType,
    connectionId: get16(datagram, 2),
    timestamp: get32(datagram, 4),
    timestampDiff: get32(datagram, 8),
    windowSize: get32(datagram, 12),
    seq: get16(datagram, 16),
    ack: get16(datagram, 18),
    selectiveAck,
    payload,
  };
}

// Big-endian fields by hand: cheaper than a DataView per packet.
function put16(out: Uint8Array, at: number, value: number): void {
  out[at] = (value >>> 8) & 0xff;
  out[at + 1] = value & 0xff;
}

function put32(out: Uint8Array, at: number, value: number): void {
  out[at] = (value >>> 24) & 0xff;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function get16(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 8) | bytes[at + 1];
}

function get32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}
