import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IGD_SEARCH_TARGETS,
  SSDP_ADDRESS,
  UPNP_ERRORS,
  encodeSoapCall,
  encodeSsdpSearch,
  findWanConnection,
  parseSoapAnswer,
  parseSsdpAnswer,
  type SoapResult,
} from '../../src/codec/upnp.js';
import { DecodeError } from '../../src/codec/errors.js';
import { quickly } from './hang-guard.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const ascii = (s: string): Uint8Array => enc.encode(s);


const IGD1 = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
const IP1 = 'urn:schemas-upnp-org:service:WANIPConnection:1';
const IP2 = 'urn:schemas-upnp-org:service:WANIPConnection:2';
const PPP1 = 'urn:schemas-upnp-org:service:WANPPPConnection:1';

describe('SSDP search', () => {
  test('the multicast address and the search targets', () => {
    assert.deepEqual(SSDP_ADDRESS, { host: '239.255.255.250', port: 1900 });
    assert.deepEqual([...IGD_SEARCH_TARGETS], [IGD1, 'urn:schemas-upnp-org:device:InternetGatewayDevice:2']);
  });

  test('M-SEARCH, exact text', () => {
    assert.equal(
      dec.decode(encodeSsdpSearch(IGD1)),
      'M-SEARCH * HTTP/1.1\r\n' +
        'HOST: 239.255.255.250:1900\r\n' +
        `ST: ${IGD1}\r\n` +
        'MAN: "ssdp:discover"\r\n' +
        'MX: 2\r\n' +
        '\r\n',
    );
    assert.equal(
      dec.decode(encodeSsdpSearch('ssdp:all', 5)),
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nST: ssdp:all\r\nMAN: "ssdp:discover"\r\nMX: 5\r\n\r\n',
    );
  });
});

const MINIUPNPD_ANSWER =
  'HTTP/1.1 200 OK\r\n' +
  'CACHE-CONTROL: max-age=120\r\n' +
  `ST: ${IGD1}\r\n` +
  `USN: uuid:8d5e2c1a-3b7f-4e2a-9c61-0242ac110002::${IGD1}\r\n` +
  'EXT:\r\n' +
  'SERVER: Debian/bookworm UPnP/1.1 MiniUPnPd/2.3.1\r\n' +
  'LOCATION: http://10.77.1.1:5000/rootDesc.xml\r\n' +
  'OPT: "http://schemas.upnp.org/upnp/1/0/"; ns=01\r\n' +
  '01-NLS: 1700000000\r\n' +
  'BOOTID.UPNP.ORG: 1700000000\r\n' +
  'CONFIGID.UPNP.ORG: 1337\r\n' +
  '\r\n';

const ssdp = (headers: string, status = 'HTTP/1.1 200 OK'): Uint8Array => ascii(`${status}\r\n${headers}\r\n`);

describe('parseSsdpAnswer', () => {
  test("a miniupnpd answer: LOCATION and ST", () => {
    const a = parseSsdpAnswer(ascii(MINIUPNPD_ANSWER));
    assert.equal(a.location.href, 'http://10.77.1.1:5000/rootDesc.xml');
    assert.equal(a.target, IGD1);
  });

  test('header names in any case; the blank line is optional; ST may be missing', () => {
    const a = parseSsdpAnswer(ascii('HTTP/1.1 200 OK\r\nlocation: http://192.168.1.1/igd.xml\r\nSt: x'));
    assert.equal(a.location.href, 'http://192.168.1.1/igd.xml');
    assert.equal(a.target, 'x');
    assert.equal(parseSsdpAnswer(ssdp('Location: http://192.168.1.1:80/d.xml\r\n')).target, '');
  });

  test('NOTIFY and M-SEARCH are not answers', () => {
    const notify = `NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: ${IGD1}\r\nNTS: ssdp:alive\r\nLOCATION: http://10.77.1.1:5000/rootDesc.xml\r\n\r\n`;
    assert.throws(() => parseSsdpAnswer(ascii(notify)), DecodeError);
    assert.throws(() => parseSsdpAnswer(encodeSsdpSearch(IGD1)), DecodeError);
  });

  test('a status other than 200 is refused', () => {
    assert.throws(() => parseSsdpAnswer(ssdp('LOCATION: http://10.77.1.1:5000/rootDesc.xml\r\n', 'HTTP/1.1 404 Not Found')), DecodeError);
    assert.throws(() => parseSsdpAnswer(ssdp('LOCATION: http://10.77.1.1:5000/rootDesc.xml\r\n', 'HTTP/1.1 302 Found')), DecodeError);
  });

  test('no LOCATION, or a LOCATION that is not an http: URL, is refused', () => {
    for (const headers of [
      `ST: ${IGD1}\r\n`,
      'LOCATION:\r\n',
      'LOCATION: not a url\r\n',
      'LOCATION: /rootDesc.xml\r\n',
      'LOCATION: http://[::1\r\n',
      'LOCATION: https://10.77.1.1:5000/rootDesc.xml\r\n',
      'LOCATION: ftp://10.77.1.1/rootDesc.xml\r\n',
      'LOCATION: file:///etc/passwd\r\n',
      'LOCATION: javascript:alert(1)\r\n',
    ]) {
      assert.throws(() => parseSsdpAnswer(ssdp(headers)), DecodeError, JSON.stringify(headers));
    }
  });

  test('malformed heads are refused', () => {
    assert.throws(() => parseSsdpAnswer(new Uint8Array(0)), DecodeError);
    assert.throws(() => parseSsdpAnswer(ssdp('LOCATION http://10.77.1.1/\r\n')), DecodeError);
    assert.throws(() => parseSsdpAnswer(Uint8Array.from([0xff, 0xfe, 0x00, 0x01])), DecodeError);
  });

  test('at most 2048 bytes', () => {
    const pad = (n: number): Uint8Array => {
      const base = 'HTTP/1.1 200 OK\r\nLOCATION: http://10.77.1.1:5000/rootDesc.xml\r\nX-PAD: ';
      return ascii(`${base}${'p'.repeat(n - base.length - 4)}\r\n\r\n`);
    };
    assert.equal(pad(2048).length, 2048);
    assert.equal(parseSsdpAnswer(pad(2048)).location.port, '5000');
    assert.throws(() => parseSsdpAnswer(pad(2049)), DecodeError);
    assert.throws(() => parseSsdpAnswer(new Uint8Array(65_000).fill(0x41)), DecodeError);
  });

  test('fuzz: mutated answers give an http: location or a DecodeError', () => {
    const rng = new Mulberry32(1900);
    const seed = ascii(MINIUPNPD_ANSWER);
    for (let i = 0; i < 5000; i++) {
      const b = seed.slice(0, rng.nextUint32() % (seed.length + 1));
      for (let f = rng.nextUint32() % 4; f > 0 && b.length > 0; f--) b[rng.nextUint32() % b.length] = rng.nextUint32() & 0xff;
      try {
        assert.equal(parseSsdpAnswer(b).location.protocol, 'http:');
      } catch (err) {
        assert.ok(err instanceof DecodeError, `non-DecodeError ${String(err)}`);
      }
    }
  });
});

/** A root description as miniupnpd 2.3 serves it (indented here for reading). */
function rootDesc(opts: { urlBase?: string; wanServices?: string } = {}): string {
  const wan =
    opts.wanServices ??
    `<service>
                <serviceType>${IP1}</serviceType>
                <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
                <SCPDURL>/WANIPCn.xml</SCPDURL>
                <controlURL>/ctl/IPConn</controlURL>
                <eventSubURL>/evt/IPConn</eventSubURL>
              </service>`;
  return `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0" configId="1337">
  <specVersion><major>1</major><minor>1</minor></specVersion>${opts.urlBase === undefined ? '' : `\n  <URLBase>${opts.urlBase}</URLBase>`}
  <device>
    <deviceType>${IGD1}</deviceType>
    <friendlyName>OpenWrt router</friendlyName>
    <manufacturer>OpenWrt</manufacturer>
    <manufacturerURL>https://openwrt.org/</manufacturerURL>
    <modelDescription>OpenWrt router</modelDescription>
    <modelName>OpenWrt router</modelName>
    <modelNumber>1</modelNumber>
    <modelURL>https://openwrt.org/</modelURL>
    <serialNumber>00000000</serialNumber>
    <UDN>uuid:8d5e2c1a-3b7f-4e2a-9c61-0242ac110002</UDN>
    <serviceList>
      <service>
        <serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
        <serviceId>urn:upnp-org:serviceId:L3Forwarding1</serviceId>
        <SCPDURL>/L3F.xml</SCPDURL>
        <controlURL>/ctl/L3F</controlURL>
        <eventSubURL>/evt/L3F</eventSubURL>
      </service>
    </serviceList>
    <deviceList>
      <device>
        <deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
        <friendlyName>WANDevice</friendlyName>
        <UDN>uuid:8d5e2c1a-3b7f-4e2a-9c61-0242ac110003</UDN>
        <serviceList>
          <service>
            <serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>
            <serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId>
            <SCPDURL>/WANCfg.xml</SCPDURL>
            <controlURL>/ctl/CmnIfCfg</controlURL>
            <eventSubURL>/evt/CmnIfCfg</eventSubURL>
          </service>
        </serviceList>
        <deviceList>
          <device>
            <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
            <friendlyName>WANConnectionDevice</friendlyName>
            <UDN>uuid:8d5e2c1a-3b7f-4e2a-9c61-0242ac110004</UDN>
            <serviceList>
              ${wan}
            </serviceList>
          </device>
        </deviceList>
      </device>
    </deviceList>
    <presentationURL>http://10.77.1.1/</presentationURL>
  </device>
</root>
`;
}

const LOCATION = new URL('http://10.77.1.1:5000/rootDesc.xml');

const service = (type: string, control: string): string =>
  `<service><serviceType>${type}</serviceType><serviceId>urn:upnp-org:serviceId:x</serviceId><controlURL>${control}</controlURL></service>`;

describe('findWanConnection', () => {
  test('a miniupnpd description: the WANIPConnection:1 in the nested WANConnectionDevice', () => {
    const wan = findWanConnection(rootDesc(), LOCATION);
    assert.ok(wan);
    assert.equal(wan.serviceType, IP1);
    assert.equal(wan.controlUrl.href, 'http://10.77.1.1:5000/ctl/IPConn');
  });

  test('URLBase, when given, is what the control URL is resolved against', () => {
    assert.equal(findWanConnection(rootDesc({ urlBase: 'http://10.77.1.1:49152/' }), LOCATION)?.controlUrl.href, 'http://10.77.1.1:49152/ctl/IPConn');
    // A relative URLBase is itself resolved against the location.
    assert.equal(findWanConnection(rootDesc({ urlBase: '/upnp/' }), LOCATION)?.controlUrl.href, 'http://10.77.1.1:5000/ctl/IPConn');
    const relative = rootDesc({ urlBase: 'http://10.77.1.1:49152/igd/', wanServices: service(IP1, 'ctl/IPConn') });
    assert.equal(findWanConnection(relative, LOCATION)?.controlUrl.href, 'http://10.77.1.1:49152/igd/ctl/IPConn');
    // An absolute control URL wins over both.
    const absolute = rootDesc({ urlBase: 'http://10.77.1.1:49152/', wanServices: service(IP1, 'http://10.77.1.1:2869/upnp/control/WANIPConn1') });
    assert.equal(findWanConnection(absolute, LOCATION)?.controlUrl.href, 'http://10.77.1.1:2869/upnp/control/WANIPConn1');
  });

  test('a control URL relative to the location directory', () => {
    const d = rootDesc({ wanServices: service(IP1, 'control/ip') });
    assert.equal(findWanConnection(d, new URL('http://192.168.0.1:80/igd/desc.xml'))?.controlUrl.href, 'http://192.168.0.1/igd/control/ip');
  });

  test('namespace prefixes, attributes and whitespace around the text', () => {
    const d = `<?xml version="1.0"?>
<ns0:root xmlns:ns0="urn:schemas-upnp-org:device-1-0">
  <ns0:URLBase>http://10.0.0.1:8080/</ns0:URLBase>
  <ns0:device><ns0:serviceList>
    <ns0:service id="1">
      <ns0:serviceType>
        ${IP1}
      </ns0:serviceType>
      <ns0:controlURL >/ipc</ns0:controlURL >
    </ns0:service>
  </ns0:serviceList></ns0:device>
</ns0:root>`;
    const wan = findWanConnection(d, LOCATION);
    assert.equal(wan?.serviceType, IP1);
    assert.equal(wan?.controlUrl.href, 'http://10.0.0.1:8080/ipc');
  });

  test('entities in the control URL are decoded', () => {
    const d = rootDesc({ wanServices: service(IP1, '/ctl?svc=IPConn&amp;v=1&#38;x=&#x32;') });
    assert.equal(findWanConnection(d, LOCATION)?.controlUrl.href, 'http://10.77.1.1:5000/ctl?svc=IPConn&v=1&x=2');
  });

  test('preference: WANIPConnection:2 > :1 > WANPPPConnection:1, whatever the document order', () => {
    const ppp = service(PPP1, '/ppp');
    const ip1 = service(IP1, '/ip1');
    const ip2 = service(IP2, '/ip2');
    const pick = (...services: string[]): string | undefined => findWanConnection(rootDesc({ wanServices: services.join('\n') }), LOCATION)?.controlUrl.pathname;
    assert.equal(pick(ppp, ip1, ip2), '/ip2');
    assert.equal(pick(ip2, ip1, ppp), '/ip2');
    assert.equal(pick(ppp, ip1), '/ip1');
    assert.equal(pick(ip1, ppp), '/ip1');
    assert.equal(pick(ppp), '/ppp');
    assert.equal(findWanConnection(rootDesc({ wanServices: ppp }), LOCATION)?.serviceType, PPP1);
  });

  test('no WAN connection service: undefined', () => {
    assert.equal(findWanConnection(rootDesc({ wanServices: '' }), LOCATION), undefined);
    assert.equal(findWanConnection('', LOCATION), undefined);
    assert.equal(findWanConnection('not xml at all', LOCATION), undefined);
    // Near misses of the service type are not matches.
    for (const type of [`${IP1}0`, 'urn:schemas-upnp-org:service:WANIPConnection:3', 'WANIPConnection:1', `${IP1} extra`]) {
      assert.equal(findWanConnection(rootDesc({ wanServices: service(type, '/ctl') }), LOCATION), undefined, type);
    }
    // A service type outside any <service> element does not count.
    assert.equal(findWanConnection(`<root><serviceType>${IP1}</serviceType><controlURL>/c</controlURL></root>`, LOCATION), undefined);
  });

  test('a non-http or unusable control URL is skipped for the next candidate', () => {
    const d = rootDesc({ wanServices: [service(IP2, 'https://10.77.1.1/ip2'), service(IP1, 'ftp://10.77.1.1/ip1'), service(PPP1, '/ppp')].join('') });
    assert.equal(findWanConnection(d, LOCATION)?.serviceType, PPP1);
    const d2 = rootDesc({ wanServices: [service(IP2, ''), service(IP1, 'http://[bad'), service(IP1, '/good')].join('') });
    assert.equal(findWanConnection(d2, LOCATION)?.controlUrl.pathname, '/good');
    for (const control of ['javascript:alert(1)', 'file:///etc/passwd', 'https://x/', '']) {
      assert.equal(findWanConnection(rootDesc({ wanServices: service(IP1, control) }), LOCATION), undefined, control);
    }
    // A service with no controlURL at all.
    assert.equal(findWanConnection(rootDesc({ wanServices: `<service><serviceType>${IP1}</serviceType></service>` }), LOCATION), undefined);
  });

  test('hostile descriptions finish in linear time', () => {
    const unclosed = rootDesc({ wanServices: '<service>'.repeat(50_000) });
    quickly('50,000 unclosed <service>', () => assert.equal(findWanConnection(unclosed, LOCATION), undefined));
    // About MAX_BODY_BYTES of '<serviceType ' (a description is never longer).
    const openType = `<service>${'<serviceType '.repeat(20_000)}</service>`;
    quickly('<serviceType  without >', () => assert.equal(findWanConnection(openType, LOCATION), undefined));
    const manyServices = service(IP1, 'ftp://x/').repeat(2_000);
    quickly('2,000 unusable services', () => assert.equal(findWanConnection(manyServices, LOCATION), undefined));
    const prefixes = `<service>${'<a.b-c:'.repeat(40_000)}</service>`;
    quickly('namespace-prefix garbage', () => assert.equal(findWanConnection(prefixes, LOCATION), undefined));
    const attributes = `<service ${'x'.repeat(300_000)}`;
    quickly('a service tag that never closes', () => assert.equal(findWanConnection(attributes, LOCATION), undefined));
    const urlBase = `${'<URLBase>'.repeat(30_000)}${service(IP1, '/c')}`;
    quickly('30,000 unclosed <URLBase>', () => assert.equal(findWanConnection(urlBase, LOCATION)?.controlUrl.pathname, '/c'));
  });

  test('fuzz: mutated descriptions give an http: URL or undefined, never an exception', () => {
    const rng = new Mulberry32(0x1fd);
    const seed = rootDesc({ urlBase: 'http://10.77.1.1:5000/', wanServices: service(IP2, '/a') + service(IP1, '/b&amp;c') });
    const alphabet = '<>/:&;# "\'\nabsx';
    for (let i = 0; i < 2000; i++) {
      const chars = seed.slice(0, rng.nextUint32() % (seed.length + 1)).split('');
      for (let f = rng.nextUint32() % 8; f > 0 && chars.length > 0; f--) chars[rng.nextUint32() % chars.length] = alphabet[rng.nextUint32() % alphabet.length] ?? '';
      const wan = findWanConnection(chars.join(''), LOCATION);
      if (wan) {
        assert.equal(wan.controlUrl.protocol, 'http:');
        assert.ok([IP2, IP1, PPP1].includes(wan.serviceType as typeof IP1));
      }
    }
  });
});

const ADD_PORT_MAPPING_ARGS = [
  ['NewRemoteHost', ''],
  ['NewExternalPort', 6881],
  ['NewProtocol', 'TCP'],
  ['NewInternalPort', 6881],
  ['NewInternalClient', '10.77.1.23'],
  ['NewEnabled', 1],
  ['NewPortMappingDescription', 'warren'],
  ['NewLeaseDuration', 3600],
] as const;

const ENVELOPE_OPEN =
  '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>';
const ENVELOPE_CLOSE = '</s:Body></s:Envelope>\r\n';

describe('encodeSoapCall', () => {
  test('AddPortMapping: exact body and SOAPAction', () => {
    const call = encodeSoapCall(IP1, 'AddPortMapping', ADD_PORT_MAPPING_ARGS);
    assert.equal(call.soapAction, '"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"');
    assert.equal(
      dec.decode(call.body),
      ENVELOPE_OPEN +
        `<u:AddPortMapping xmlns:u="${IP1}">` +
        '<NewRemoteHost></NewRemoteHost>' +
        '<NewExternalPort>6881</NewExternalPort>' +
        '<NewProtocol>TCP</NewProtocol>' +
        '<NewInternalPort>6881</NewInternalPort>' +
        '<NewInternalClient>10.77.1.23</NewInternalClient>' +
        '<NewEnabled>1</NewEnabled>' +
        '<NewPortMappingDescription>warren</NewPortMappingDescription>' +
        '<NewLeaseDuration>3600</NewLeaseDuration>' +
        '</u:AddPortMapping>' +
        ENVELOPE_CLOSE,
    );
  });

  test('a call without arguments', () => {
    const call = encodeSoapCall(PPP1, 'GetExternalIPAddress', []);
    assert.equal(call.soapAction, `"${PPP1}#GetExternalIPAddress"`);
    assert.equal(dec.decode(call.body), `${ENVELOPE_OPEN}<u:GetExternalIPAddress xmlns:u="${PPP1}"></u:GetExternalIPAddress>${ENVELOPE_CLOSE}`);
  });

  test('values are XML-escaped', () => {
    const body = dec.decode(encodeSoapCall(IP1, 'AddPortMapping', [['NewPortMappingDescription', `a<b&c>"d'e &amp;`]]).body);
    assert.ok(body.includes('<NewPortMappingDescription>a&lt;b&amp;c&gt;&quot;d&apos;e &amp;amp;</NewPortMappingDescription>'), body);
  });

  test('escaped values survive the trip through parseSoapAnswer', () => {
    const values: [string, string][] = [
      ['NewA', `<&>"'`],
      ['NewB', 'plain'],
      ['NewC', '&amp; literally'],
      ['NewD', 'ünïcödé ✓'],
    ];
    const { body } = encodeSoapCall(IP1, 'GetThingResponse', values);
    const r = parseSoapAnswer(200, body, 'GetThing');
    assert.ok(r.ok);
    assert.deepEqual([...r.values], values);
  });
});

const soap = (inner: string): Uint8Array => ascii(`${ENVELOPE_OPEN}${inner}${ENVELOPE_CLOSE}`);
const fault = (code: string, description?: string): Uint8Array =>
  soap(
    '<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>' +
      `<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode>` +
      (description === undefined ? '' : `<errorDescription>${description}</errorDescription>`) +
      '</UPnPError></detail></s:Fault>',
  );

function failure(r: SoapResult): { code: number; reason: string } {
  assert.equal(r.ok, false);
  return r.ok ? { code: 0, reason: '' } : { code: r.code, reason: r.reason };
}

describe('parseSoapAnswer', () => {
  test('GetExternalIPAddressResponse: the output arguments', () => {
    const body = soap(`<u:GetExternalIPAddressResponse xmlns:u="${IP1}"><NewExternalIPAddress>10.77.2.1</NewExternalIPAddress></u:GetExternalIPAddressResponse>`);
    const r = parseSoapAnswer(200, body, 'GetExternalIPAddress');
    assert.ok(r.ok);
    assert.deepEqual([...r.values], [['NewExternalIPAddress', '10.77.2.1']]);
  });

  test('several arguments, whitespace and entities, another prefix', () => {
    const body = soap(
      `<m:GetSpecificPortMappingEntryResponse xmlns:m="${IP1}">\r\n` +
        '<NewInternalPort>6881</NewInternalPort>\r\n' +
        '<NewInternalClient> 10.77.1.23 </NewInternalClient>\r\n' +
        '<NewEnabled>1</NewEnabled>\r\n' +
        '<NewPortMappingDescription>a &amp; b</NewPortMappingDescription>\r\n' +
        '<NewLeaseDuration></NewLeaseDuration>\r\n' +
        '</m:GetSpecificPortMappingEntryResponse>',
    );
    const r = parseSoapAnswer(200, body, 'GetSpecificPortMappingEntry');
    assert.ok(r.ok);
    assert.deepEqual(Object.fromEntries(r.values), {
      NewInternalPort: '6881',
      NewInternalClient: '10.77.1.23',
      NewEnabled: '1',
      NewPortMappingDescription: 'a & b',
      NewLeaseDuration: '',
    });
  });

  test('an empty response, self-closing or not, is ok with no values', () => {
    for (const inner of [
      `<u:AddPortMappingResponse xmlns:u="${IP1}"/>`,
      `<u:AddPortMappingResponse xmlns:u="${IP1}" />`,
      '<AddPortMappingResponse/>',
      `<u:AddPortMappingResponse xmlns:u="${IP1}"></u:AddPortMappingResponse>`,
      `<u:AddPortMappingResponse xmlns:u="${IP1}">\r\n</u:AddPortMappingResponse>`,
    ]) {
      const r = parseSoapAnswer(200, soap(inner), 'AddPortMapping');
      assert.ok(r.ok, inner);
      assert.equal(r.values.size, 0, inner);
    }
  });

  test('a 500 with UPnP error 718: not ok, with a readable reason', () => {
    const { code, reason } = failure(parseSoapAnswer(500, fault('718', 'ConflictInMappingEntry'), 'AddPortMapping'));
    assert.equal(code, 718);
    assert.match(reason, /another host/);
    assert.equal(reason, UPNP_ERRORS[718]);
  });

  test('every known code maps to its reason; an unknown code uses errorDescription', () => {
    for (const [code, reason] of Object.entries(UPNP_ERRORS)) {
      assert.deepEqual(failure(parseSoapAnswer(500, fault(code, 'Whatever'), 'AddPortMapping')), { code: Number(code), reason });
    }
    assert.deepEqual(failure(parseSoapAnswer(500, fault('899', 'VendorSpecificFailure'), 'AddPortMapping')), { code: 899, reason: 'VendorSpecificFailure' });
    assert.deepEqual(failure(parseSoapAnswer(500, fault(' 899 ', 'a &lt;b&gt;'), 'X')), { code: 899, reason: 'a <b>' });
    assert.deepEqual(failure(parseSoapAnswer(500, fault('0'), 'X')), { code: 0, reason: 'unknown error' });
    assert.equal(failure(parseSoapAnswer(500, fault('899', 'd'.repeat(5000)), 'X')).reason.length, 100);
  });

  test('DecodeError for answers that are neither', () => {
    // 200 without the Response element (or with another action's).
    assert.throws(() => parseSoapAnswer(200, soap('<u:GetExternalIPAddressResponse><NewExternalIPAddress>1.2.3.4</NewExternalIPAddress></u:GetExternalIPAddressResponse>'), 'AddPortMapping'), DecodeError);
    assert.throws(() => parseSoapAnswer(200, fault('718'), 'AddPortMapping'), DecodeError);
    assert.throws(() => parseSoapAnswer(200, new Uint8Array(0), 'AddPortMapping'), DecodeError);
    assert.throws(() => parseSoapAnswer(200, soap('<u:AddPortMappingResponse>'), 'AddPortMapping'), DecodeError);
    // 500 without a usable errorCode.
    assert.throws(() => parseSoapAnswer(500, soap('<s:Fault><faultstring>UPnPError</faultstring></s:Fault>'), 'AddPortMapping'), DecodeError);
    assert.throws(() => parseSoapAnswer(500, fault('abc'), 'AddPortMapping'), DecodeError);
    assert.throws(() => parseSoapAnswer(500, fault('12345'), 'AddPortMapping'), DecodeError);
    assert.throws(() => parseSoapAnswer(500, fault('-1'), 'AddPortMapping'), DecodeError);
    assert.throws(() => parseSoapAnswer(500, fault(''), 'AddPortMapping'), DecodeError);
    assert.throws(() => parseSoapAnswer(500, new Uint8Array(0), 'AddPortMapping'), DecodeError);
    // Other statuses, even with an error code or a valid response.
    assert.throws(() => parseSoapAnswer(404, ascii('<html>Not Found</html>'), 'AddPortMapping'), DecodeError);
    assert.throws(() => parseSoapAnswer(404, fault('718'), 'AddPortMapping'), DecodeError);
    assert.throws(() => parseSoapAnswer(401, soap('<u:AddPortMappingResponse/>'), 'AddPortMapping'), DecodeError);
  });

  test('hostile answers finish in linear time', () => {
    const opens = soap(`<u:AddPortMappingResponse xmlns:u="${IP1}">`.repeat(10_000));
    quickly('500 with 10,000 unclosed openings', () => assert.throws(() => parseSoapAnswer(500, opens, 'AddPortMapping'), DecodeError));
    quickly('200 with 10,000 unclosed openings', () => assert.throws(() => parseSoapAnswer(200, opens, 'AddPortMapping'), DecodeError));
    const openAttrs = soap(`<u:AddPortMappingResponse ${'x'.repeat(200)}`.repeat(10_000));
    quickly('200 with 10,000 unterminated tags', () => assert.throws(() => parseSoapAnswer(200, openAttrs, 'AddPortMapping'), DecodeError));
    const codes = soap('<errorCode>'.repeat(20_000) + '<errorCode '.repeat(20_000));
    quickly('500 with 40,000 unclosed errorCode', () => assert.throws(() => parseSoapAnswer(500, codes, 'AddPortMapping'), DecodeError));
    const args = soap(`<u:GetXResponse>${'<NewA>'.repeat(30_000)}${'<NewB x'.repeat(30_000)}</u:GetXResponse>`);
    quickly('200 with 60,000 unclosed arguments', () => {
      const r = parseSoapAnswer(200, args, 'GetX');
      assert.ok(r.ok);
      assert.equal(r.values.size, 0);
    });
  });

  test('fuzz: mutated answers give a result or a DecodeError', () => {
    const rng = new Mulberry32(718);
    const seeds = [
      dec.decode(fault('718', 'ConflictInMappingEntry')),
      dec.decode(soap(`<u:GetExternalIPAddressResponse xmlns:u="${IP1}"><NewExternalIPAddress>10.77.2.1</NewExternalIPAddress></u:GetExternalIPAddressResponse>`)),
    ];
    const alphabet = '<>/:&;# "\'\n0123456789x';
    for (let i = 0; i < 4000; i++) {
      const seed = seeds[i % 2] ?? '';
      const chars = seed.slice(0, rng.nextUint32() % (seed.length + 1)).split('');
      for (let f = rng.nextUint32() % 6; f > 0 && chars.length > 0; f--) chars[rng.nextUint32() % chars.length] = alphabet[rng.nextUint32() % alphabet.length] ?? '';
      const status = [200, 500, 404][rng.nextUint32() % 3] ?? 200;
      try {
        const r = parseSoapAnswer(status, ascii(chars.join('')), 'GetExternalIPAddress');
        if (r.ok) assert.equal(status, 200);
        else assert.ok(status === 500 && Number.isInteger(r.code) && r.code >= 0 && r.code <= 9999 && typeof r.reason === 'string');
      } catch (err) {
        assert.ok(err instanceof DecodeError, `non-DecodeError ${String(err)}`);
      }
    }
  });
});

describe('parseSoapAnswer: found in review', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  test('an unknown error code with an empty description still has a reason', () => {
    assert.deepEqual(parseSoapAnswer(500, bytes('<errorCode>899</errorCode><errorDescription></errorDescription>'), 'X'), { ok: false, code: 899, reason: 'unknown error' });
  });

  test('a self-closing response (with attributes or a blank) has no content, whatever follows it', () => {
    const answer = parseSoapAnswer(200, bytes('<u:XResponse xmlns:u="a"/><Other><NewFake>1</NewFake></Other></u:XResponse>'), 'X');
    assert.deepEqual(answer, { ok: true, values: new Map() });
    assert.deepEqual(parseSoapAnswer(200, bytes('<u:XResponse xmlns:u="a" />'), 'X'), { ok: true, values: new Map() });
  });
});
