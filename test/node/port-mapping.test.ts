import { test } from 'node:test';
import assert from 'node:assert/strict';
import { portsToMap } from '../../src/node/port-mapping.js';
import { portMappingText } from '../../src/node/port-mapping-text.js';

test('portsToMap: TCP and uTP at the swarm port, and the DHT port when it is another', () => {
  assert.deepEqual(portsToMap(6881, true, 6881), [{ protocol: 'tcp', port: 6881 }, { protocol: 'udp', port: 6881 }]);
  assert.deepEqual(portsToMap(6881, true, 7000), [{ protocol: 'tcp', port: 6881 }, { protocol: 'udp', port: 6881 }, { protocol: 'udp', port: 7000 }]);
  assert.deepEqual(portsToMap(6881, false, 6881), [{ protocol: 'tcp', port: 6881 }, { protocol: 'udp', port: 6881 }], 'no uTP: the DHT still needs UDP 6881');
  assert.deepEqual(portsToMap(6881, false, undefined), [{ protocol: 'tcp', port: 6881 }]);
});

test('portMappingText: each port through each protocol, with the reason of a failure', () => {
  const text = portMappingText({
    externalAddress: '203.0.113.7',
    mappings: [
      { protocol: 'tcp', internalPort: 6881, via: 'nat-pmp', state: 'failed', error: 'no NAT-PMP answer from the gateway 192.168.1.1' },
      { protocol: 'udp', internalPort: 6881, via: 'nat-pmp', state: 'mapping' },
      { protocol: 'tcp', internalPort: 6881, via: 'upnp', state: 'mapped', externalPort: 6881 },
    ],
  });
  assert.equal(text, 'TCP 6881 (NAT-PMP failed: no NAT-PMP answer from the gateway 192.168.1.1; UPnP → 203.0.113.7:6881), UDP 6881 (NAT-PMP asking)');
});
