/**
 * A home router on the virtual network for the port mapper's tests: a NAT-PMP server on
 * gateway:5351, an SSDP responder on 239.255.255.250:1900 (it answers from the gateway's own
 * address, as a router does), and a UPnP IGD description and control URL over HTTP on
 * gateway:5000. Each part can be told to misbehave. It is ours, so the interop test against
 * miniupnpd (test/interop/port-mapping-miniupnpd.test.ts) is what shows we speak the protocols.
 */
import type { Endpoint, TcpConnection, UdpSocket } from '../../src/runtime/interfaces.js';
import type { VirtualNetwork } from '../../src/runtime/virtual-network.js';

export const GATEWAY = '192.168.1.1';
export const EXTERNAL = '203.0.113.7';
export const SSDP = { host: '239.255.255.250', port: 1900 };

export interface RouterMapping {
  protocol: 'TCP' | 'UDP';
  externalPort: number;
  client: string;
  internalPort: number;
  /** Seconds; 0 permanent. */
  lease: number;
  via: 'nat-pmp' | 'upnp';
  description?: string;
}

export interface FakeRouterOptions {
  natPmp?: boolean;
  upnp?: boolean;
  /** NAT-PMP: a result code for every mapping request (0 = map). */
  natPmpResult?: number;
  /** NAT-PMP: the lifetime granted (default: the one asked). */
  grantedLifetime?: number;
  /** NAT-PMP: the external port given for an internal one (default: the same). */
  externalPortFor?: (internalPort: number) => number;
  /** UPnP: the error code AddPortMapping answers (718 conflict, 725 permanent leases only…). */
  upnpError?: (lease: number, externalPort: number) => number | undefined;
  /** UPnP: the description served (default: a WANIPConnection:1 gateway). */
  description?: string;
  /** SSDP: the LOCATION sent (default: this router's description). */
  location?: string;
}

export function igdDescription(controlPath = '/ctl/IPConn'): string {
  return `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>${controlPath}</controlURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>`;
}

export class FakeRouter {
  readonly mappings: RouterMapping[] = [];
  /** Every NAT-PMP request and SOAP action, in order. */
  readonly log: string[] = [];
  /** Seconds since the router "booted", at clock time 0; its NAT-PMP epoch runs with the clock from there. */
  bootEpoch = 1000;
  /** Where the last NAT-PMP request came from. */
  lastClient: Endpoint | undefined;
  private readonly sockets: UdpSocket[] = [];
  private natPmp: UdpSocket | undefined;

  private constructor(
    private readonly net: VirtualNetwork,
    readonly options: FakeRouterOptions,
  ) {}

  static async start(net: VirtualNetwork, options: FakeRouterOptions = {}): Promise<FakeRouter> {
    const router = new FakeRouter(net, options);
    await router.listen();
    return router;
  }

  /** Sends `data` to `to` from the NAT-PMP port (a hostile or confused gateway). */
  sendFromGateway(data: Uint8Array, to: Endpoint): void {
    this.natPmp!.send(data, to);
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }

  private async listen(): Promise<void> {
    const rt = this.net.runtime(GATEWAY);
    if (this.options.natPmp !== false) {
      this.natPmp = await rt.udp({ host: GATEWAY, port: 5351 });
      this.sockets.push(this.natPmp);
      this.natPmp.onMessage((data, from) => this.natPmpRequest(data, from));
    }
    if (this.options.upnp !== false) {
      const answerer = await rt.udp({ host: GATEWAY, port: 1901 });
      const ssdp = await this.net.runtime(SSDP.host).udp(SSDP);
      this.sockets.push(answerer, ssdp);
      ssdp.onMessage((data, from) => {
        const text = new TextDecoder().decode(data);
        const st = /\r\nST: (.*)\r\n/.exec(text)?.[1];
        if (!text.startsWith('M-SEARCH') || st !== 'urn:schemas-upnp-org:device:InternetGatewayDevice:1') return;
        const location = this.options.location ?? `http://${GATEWAY}:5000/rootDesc.xml`;
        answerer.send(new TextEncoder().encode(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: ${st}\r\nUSN: uuid:fake::${st}\r\nEXT:\r\nLOCATION: ${location}\r\n\r\n`), from);
      });
      const server = await rt.tcpListen({ host: GATEWAY, port: 5000 });
      server.onConnection((conn) => this.http(conn));
    }
  }

  /** Restarts the router: its mappings are gone and its epoch starts again. */
  reboot(): void {
    this.mappings.length = 0;
    this.bootEpoch = -Math.floor(this.net.clock.now() / 1000);
  }

  private get epoch(): number {
    return this.bootEpoch + Math.floor(this.net.clock.now() / 1000);
  }

  private natPmpRequest(data: Uint8Array, from: Endpoint): void {
    this.lastClient = from;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const answer = (bytes: number[]): void => this.natPmp!.send(new Uint8Array(bytes), from);
    const u16 = (n: number) => [n >>> 8, n & 0xff];
    const u32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
    if (data.length === 2 && data[1] === 0) {
      this.log.push('nat-pmp external-address');
      answer([0, 128, ...u16(0), ...u32(this.epoch), ...EXTERNAL.split('.').map(Number)]);
      return;
    }
    if (data.length !== 12 || (data[1] !== 1 && data[1] !== 2)) return;
    const protocol = data[1] === 1 ? 'UDP' : 'TCP';
    const internalPort = view.getUint16(4);
    const lifetime = view.getUint32(8);
    this.log.push(`nat-pmp map ${protocol} ${internalPort} ${lifetime}`);
    const result = this.options.natPmpResult ?? 0;
    if (result !== 0) {
      answer([0, 128 + data[1], ...u16(result), ...u32(this.epoch)]);
      return;
    }
    this.mappings.splice(0, this.mappings.length, ...this.mappings.filter((m) => !(m.via === 'nat-pmp' && m.protocol === protocol && m.internalPort === internalPort && m.client === from.host)));
    const granted = lifetime === 0 ? 0 : (this.options.grantedLifetime ?? lifetime);
    const externalPort = this.options.externalPortFor?.(internalPort) ?? internalPort;
    if (granted > 0) this.mappings.push({ protocol, externalPort, client: from.host, internalPort, lease: granted, via: 'nat-pmp' });
    answer([0, 128 + data[1], ...u16(0), ...u32(this.epoch), ...u16(internalPort), ...u16(lifetime === 0 ? 0 : externalPort), ...u32(granted)]);
  }

  private remove(via: RouterMapping['via'], protocol: string, port: number, client?: string): boolean {
    const i = this.mappings.findIndex((m) => m.via === via && m.protocol === protocol && m.externalPort === port && (client === undefined || m.client === client));
    if (i >= 0) this.mappings.splice(i, 1);
    return i >= 0;
  }

  /** One HTTP request per connection: the description, or a SOAP call. */
  private http(conn: TcpConnection): void {
    let buffered = '';
    conn.onData((data) => {
      buffered += new TextDecoder('latin1').decode(data);
      const headEnd = buffered.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(buffered)?.[1] ?? 0);
      if (buffered.length < headEnd + 4 + length) return;
      const [requestLine] = buffered.split('\r\n');
      const body = buffered.slice(headEnd + 4, headEnd + 4 + length);
      const reply = (status: number, text: string): void => {
        conn.write(new TextEncoder().encode(`HTTP/1.1 ${status} X\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`));
        conn.close();
      };
      if (requestLine === 'GET /rootDesc.xml HTTP/1.1') return reply(200, this.options.description ?? igdDescription());
      if (!requestLine!.startsWith('POST /ctl/IPConn ')) return reply(404, 'not found');
      const action = /\r\nSOAPAction: "[^#]*#(\w+)"/i.exec(buffered)?.[1] ?? '?';
      const arg = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1] ?? '';
      this.log.push(`upnp ${action}`);
      const envelope = (inner: string) => `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${inner}</s:Body></s:Envelope>`;
      const fault = (code: number) => reply(500, envelope(`<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode><errorDescription>Error ${code}</errorDescription></UPnPError></detail></s:Fault>`));
      const ns = 'urn:schemas-upnp-org:service:WANIPConnection:1';
      if (action === 'GetExternalIPAddress') return reply(200, envelope(`<u:GetExternalIPAddressResponse xmlns:u="${ns}"><NewExternalIPAddress>${EXTERNAL}</NewExternalIPAddress></u:GetExternalIPAddressResponse>`));
      if (action === 'AddPortMapping') {
        const lease = Number(arg('NewLeaseDuration'));
        const externalPort = Number(arg('NewExternalPort'));
        const error = this.options.upnpError?.(lease, externalPort);
        if (error !== undefined) return fault(error);
        const protocol = arg('NewProtocol') as 'TCP' | 'UDP';
        this.remove('upnp', protocol, externalPort);
        this.mappings.push({ protocol, externalPort, client: arg('NewInternalClient'), internalPort: Number(arg('NewInternalPort')), lease, via: 'upnp', description: arg('NewPortMappingDescription') });
        return reply(200, envelope(`<u:AddPortMappingResponse xmlns:u="${ns}"/>`));
      }
      if (action === 'DeletePortMapping') {
        return this.remove('upnp', arg('NewProtocol'), Number(arg('NewExternalPort'))) ? reply(200, envelope(`<u:DeletePortMappingResponse xmlns:u="${ns}"/>`)) : fault(714);
      }
      return fault(401);
    });
  }
}
