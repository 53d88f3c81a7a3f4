/**
 * UPnP Internet Gateway Device (IGD) port mapping, as home routers speak it:
 *   1. SSDP: the client multicasts an M-SEARCH (HTTP over UDP) to 239.255.255.250:1900; each
 *      gateway answers, unicast, with the URL of its device description (LOCATION);
 *   2. the description (XML, fetched over HTTP) lists services; the client wants a
 *      WANIPConnection (or, on a PPP link, WANPPPConnection) and its control URL;
 *   3. SOAP calls to that URL: GetExternalIPAddress, AddPortMapping, DeletePortMapping. A failed
 *      call answers HTTP 500 with a UPnP error code (718: the port is mapped to another host).
 *
 * The router is on the LAN but is not trusted: answers are bounded (see `http-message.ts`) and
 * read with a few exact patterns, never evaluated.
 */
import { DecodeError } from './errors.js';
import { parseHttpHead } from './http-message.js';

/** Where SSDP searches go. */
export const SSDP_ADDRESS = { host: '239.255.255.250', port: 1900 } as const;

/** The search targets sent: IGD version 1 and 2 (routers answer the one they are). */
export const IGD_SEARCH_TARGETS = ['urn:schemas-upnp-org:device:InternetGatewayDevice:1', 'urn:schemas-upnp-org:device:InternetGatewayDevice:2'] as const;

/** The connection services that map ports, most wanted first. */
const CONNECTION_SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

/** Error codes of the WANIPConnection specification, as a reason a person can read. */
export const UPNP_ERRORS: Readonly<Record<number, string>> = {
  401: 'invalid action',
  402: 'invalid arguments',
  501: 'action failed',
  606: 'action not authorized',
  714: 'no such mapping',
  718: 'the port is already mapped to another host',
  724: 'the external and internal ports must be equal',
  725: 'only permanent leases are supported',
  726: 'the remote host must be a wildcard',
  727: 'the external port must be a wildcard',
  728: 'no port mappings are available',
  729: 'conflicts with another mechanism',
};

/** An M-SEARCH datagram for `target`; gateways answer within `waitSeconds` (MX). */
export function encodeSsdpSearch(target: string, waitSeconds = 2): Uint8Array {
  const text =
    'M-SEARCH * HTTP/1.1\r\n' +
    `HOST: ${SSDP_ADDRESS.host}:${SSDP_ADDRESS.port}\r\n` +
    `ST: ${target}\r\n` +
    'MAN: "ssdp:discover"\r\n' +
    `MX: ${waitSeconds}\r\n` +
    '\r\n';
  return new TextEncoder().encode(text);
}

/** A gateway's answer to a search: where its description is, and what it answered for. */
export interface SsdpAnswer {
  location: URL;
  target: string;
}

/**
 * Parses an SSDP answer (or a NOTIFY, which is not one: `DecodeError`). LOCATION must be an
 * `http:` URL; anything longer than 2 KiB is refused.
 */
export function parseSsdpAnswer(bytes: Uint8Array): SsdpAnswer {
  if (bytes.length > 2048) throw new DecodeError(`SSDP answer of ${bytes.length} bytes, at most 2048 expected`);
  const text = new TextDecoder('latin1').decode(bytes);
  const end = text.indexOf('\r\n\r\n');
  const { status, headers } = parseHttpHead(end < 0 ? text : text.slice(0, end));
  if (status !== 200) throw new DecodeError(`SSDP answer with status ${status}`);
  const location = headers.get('location');
  if (location === undefined) throw new DecodeError('SSDP answer without LOCATION');
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new DecodeError(`SSDP LOCATION is not a URL: ${JSON.stringify(location.slice(0, 80))}`);
  }
  if (url.protocol !== 'http:') throw new DecodeError(`SSDP LOCATION is not http: ${JSON.stringify(location.slice(0, 80))}`);
  return { location: url, target: headers.get('st') ?? '' };
}

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The text of an XML element with character entities replaced (numeric ones too). */
function xmlText(raw: string): string {
  return raw.trim().replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Math.min(parseInt(entity.slice(2), 16), 0x10ffff));
    if (entity.startsWith('#')) return String.fromCodePoint(Math.min(parseInt(entity.slice(1), 10), 0x10ffff));
    return XML_ENTITIES[entity] ?? whole;
  });
}

/*
 * The patterns below are bounded (a namespace prefix of at most 32 characters, attributes of at
 * most 256) and elements are cut out by scanning forward only, so a hostile answer costs time in
 * proportion to its length, never more.
 */
const PREFIX = '(?:[\\w.-]{1,32}:)?';
const ATTRIBUTES = '(?:\\s[^>]{0,256})?';
/** The end of an opening tag: not `/>`, which closes itself and has no content. */
const OPEN_END = '(?<!/)>';

/** The `<name …>…</name>` elements (any namespace prefix) of `xml`, in order, not nested in each other. */
function elements(xml: string, name: string): string[] {
  const open = new RegExp(`<${PREFIX}${name}${ATTRIBUTES}${OPEN_END}`, 'g');
  const close = new RegExp(`</${PREFIX}${name}\\s*>`, 'g');
  const found: string[] = [];
  for (;;) {
    const start = open.exec(xml);
    if (!start) return found;
    close.lastIndex = open.lastIndex;
    const end = close.exec(xml);
    if (!end) return found;
    found.push(xml.slice(open.lastIndex, end.index));
    open.lastIndex = close.lastIndex;
  }
}

/** The text of the first `<name>…</name>` (any namespace prefix) in `xml` that holds only text. */
function element(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${PREFIX}${name}${ATTRIBUTES}${OPEN_END}([^<]*)</${PREFIX}${name}\\s*>`).exec(xml);
  return match ? xmlText(match[1]!) : undefined;
}

/** The connection service of a gateway: the SOAP namespace of its calls, and where they go. */
export interface WanConnection {
  serviceType: string;
  controlUrl: URL;
}

/**
 * Finds the WAN connection service in a device description fetched from `location`: the most
 * wanted of WANIPConnection:2, WANIPConnection:1 and WANPPPConnection:1. Its control URL is
 * resolved against URLBase (when given) or `location`, and must be `http:`. `undefined` when the
 * device has none (it is not a gateway, or not one that maps ports).
 */
export function findWanConnection(description: string, location: URL): WanConnection | undefined {
  const services = elements(description, 'service');
  const base = element(description, 'URLBase');
  for (const wanted of CONNECTION_SERVICES) {
    for (const service of services) {
      if (element(service, 'serviceType') !== wanted) continue;
      const control = element(service, 'controlURL');
      if (!control) continue;
      let url: URL;
      try {
        url = new URL(control, base ? new URL(base, location) : location);
      } catch {
        continue;
      }
      if (url.protocol === 'http:') return { serviceType: wanted, controlUrl: url };
    }
  }
  return undefined;
}

function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${Object.keys(XML_ENTITIES).find((k) => XML_ENTITIES[k] === c)};`);
}

/** A SOAP call: the body to POST and the value of its SOAPAction header. */
export function encodeSoapCall(serviceType: string, action: string, args: readonly (readonly [string, string | number])[]): { body: Uint8Array; soapAction: string } {
  const inner = args.map(([name, value]) => `<${name}>${xmlEscape(String(value))}</${name}>`).join('');
  const xml =
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action} xmlns:u="${xmlEscape(serviceType)}">${inner}</u:${action}></s:Body></s:Envelope>\r\n`;
  return { body: new TextEncoder().encode(xml), soapAction: `"${serviceType}#${action}"` };
}

/** What a SOAP call came to: the answer's output arguments, or the UPnP error. */
export type SoapResult = { ok: true; values: ReadonlyMap<string, string> } | { ok: false; code: number; reason: string };

/**
 * Reads the answer to `action`: a 200 must hold `<…:actionResponse>`, whose child elements are
 * the output arguments; a 500 must hold a UPnP error (`errorCode`). Anything else is a
 * `DecodeError`.
 */
export function parseSoapAnswer(status: number, body: Uint8Array, action: string): SoapResult {
  const xml = new TextDecoder('utf-8').decode(body);
  if (status === 200) {
    const [inner] = elements(xml, `${action}Response`);
    if (inner === undefined) {
      if (new RegExp(`<${PREFIX}${action}Response${ATTRIBUTES}/>`).test(xml)) return { ok: true, values: new Map() };
      throw new DecodeError(`SOAP answer without ${action}Response`);
    }
    const values = new Map<string, string>();
    for (const arg of inner.matchAll(/<([\w.-]{1,64})(?:\s[^>]{0,256})?>([^<]*)<\/\1\s*>/g)) values.set(arg[1]!, xmlText(arg[2]!));
    return { ok: true, values };
  }
  const code = element(xml, 'errorCode');
  if (status === 500 && code !== undefined && /^\d{1,4}$/.test(code)) {
    const description = element(xml, 'errorDescription');
    const known = UPNP_ERRORS[Number(code)];
    return { ok: false, code: Number(code), reason: known ?? (description?.slice(0, 100) || 'unknown error') };
  }
  throw new DecodeError(`SOAP answer with HTTP status ${status}${code === undefined ? '' : ` and error code ${JSON.stringify(code.slice(0, 10))}`}`);
}
