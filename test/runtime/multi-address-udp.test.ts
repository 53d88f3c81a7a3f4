import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint, Timer, UdpSocket } from '../../src/runtime/interfaces.js';
import { MAX_REMEMBERED_PEERS, MultiAddressUdpSocket, REFRESH_MS } from '../../src/runtime/multi-address-udp.js';

/** A socket that records what it sends; `deliver` plays a datagram arriving at it. */
class FakeSocket implements UdpSocket {
  readonly sent: string[] = [];
  closed = false;
  private handler?: (data: Uint8Array, from: Endpoint) => void;
  constructor(readonly local: Endpoint) {}
  send(data: Uint8Array, to: Endpoint): void {
    this.sent.push(`${data[0]}>${to.host}:${to.port}`);
  }
  onMessage(handler: (data: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
  }
  close(): void {
    this.closed = true;
  }
  deliver(byte: number, from: Endpoint): void {
    this.handler?.(new Uint8Array([byte]), from);
  }
}

/** A multi-address socket on port 6881 over fakes; `refresh()` runs the pending refresh timer. */
async function setup(addresses: string[], failing = new Set<string>()) {
  const wildcard = new FakeSocket({ host: '::', port: 6881 });
  const sockets = new Map<string, FakeSocket>();
  let pending: { ms: number; fn: () => void; cancelled: boolean } | undefined;
  const state = { addresses, throws: false };
  const multi = await MultiAddressUdpSocket.open({
    wildcard,
    bindAt: async (host) => {
      if (failing.has(host)) throw Object.assign(new Error('cannot assign'), { code: 'EADDRNOTAVAIL' });
      const socket = new FakeSocket({ host, port: 6881 });
      sockets.set(host, socket);
      return socket;
    },
    addresses: () => {
      if (state.throws) throw new Error('uv_interface_addresses');
      return state.addresses;
    },
    setTimer: (ms, fn): Timer => {
      const timer = { ms, fn, cancelled: false };
      pending = timer;
      return { cancel: () => (timer.cancelled = true) };
    },
  });
  const heard: string[] = [];
  multi.onMessage((data, from) => heard.push(`${data[0]}<${from.host}:${from.port}`));
  const refresh = async () => {
    const timer = pending!;
    assert.equal(timer.ms, REFRESH_MS);
    assert.equal(timer.cancelled, false);
    pending = undefined;
    timer.fn();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { multi, wildcard, sockets, heard, state, refresh, pending: () => pending };
}

const peer = (n: number): Endpoint => ({ host: `2001:db8::${n}`, port: 5000 + n });

describe('MultiAddressUdpSocket', () => {
  test('answers each peer through the socket of the address it reached; others through [::]', async () => {
    const { multi, wildcard, sockets, heard } = await setup(['2001:db8:1::a', '2001:db8:1::b', 'fd00::c']);
    assert.deepEqual(multi.boundAddresses, ['2001:db8:1::a', '2001:db8:1::b', 'fd00::c']);
    assert.deepEqual(multi.local, { host: '::', port: 6881 });
    const a = sockets.get('2001:db8:1::a')!;
    const b = sockets.get('2001:db8:1::b')!;
    a.deliver(1, peer(1));
    b.deliver(2, peer(2));
    wildcard.deliver(3, peer(3));
    assert.deepEqual(heard, ['1<2001:db8::1:5001', '2<2001:db8::2:5002', '3<2001:db8::3:5003']);
    for (const n of [1, 2, 3, 4]) multi.send(new Uint8Array([n]), peer(n));
    assert.deepEqual(a.sent, ['1>2001:db8::1:5001']);
    assert.deepEqual(b.sent, ['2>2001:db8::2:5002']);
    assert.deepEqual(wildcard.sent, ['3>2001:db8::3:5003', '4>2001:db8::4:5004'], 'heard on [::], or never heard');
    // A peer that moves to another address is answered from there; one heard on [::] goes back to it.
    b.deliver(5, peer(1));
    multi.send(new Uint8Array([5]), peer(1));
    assert.deepEqual(b.sent.at(-1), '5>2001:db8::1:5001');
    wildcard.deliver(6, peer(2));
    multi.send(new Uint8Array([6]), peer(2));
    assert.deepEqual(wildcard.sent.at(-1), '6>2001:db8::2:5002');
    // The port is part of the peer.
    multi.send(new Uint8Array([7]), { host: peer(1).host, port: 1 });
    assert.deepEqual(wildcard.sent.at(-1), '7>2001:db8::1:1');
  });

  test('with fewer than two addresses the kernel picks: nothing more is bound', async () => {
    for (const addresses of [[], ['2001:db8:1::a']]) {
      const { multi, wildcard, sockets } = await setup(addresses);
      assert.deepEqual(multi.boundAddresses, []);
      assert.equal(sockets.size, 0);
      multi.send(new Uint8Array([1]), peer(1));
      assert.deepEqual(wildcard.sent, ['1>2001:db8::1:5001']);
    }
  });

  test('addresses that come and go are bound and closed at the next refresh; a failed bind is tried again', async () => {
    const failing = new Set(['fd00::7']);
    const { multi, wildcard, sockets, state, refresh } = await setup(['2001:db8:1::a', '2001:db8:1::b', 'fd00::7'], failing);
    assert.deepEqual(multi.boundAddresses, ['2001:db8:1::a', '2001:db8:1::b'], 'fd00::7 could not be bound yet');
    const a = sockets.get('2001:db8:1::a')!;
    a.deliver(1, peer(1));

    failing.clear();
    state.addresses = ['2001:db8:1::b', 'fd00::7', '2001:db8:1::c'];
    await refresh();
    assert.deepEqual(multi.boundAddresses.sort(), ['2001:db8:1::b', '2001:db8:1::c', 'fd00::7']);
    assert.equal(a.closed, true, 'the vanished address is closed');
    multi.send(new Uint8Array([1]), peer(1));
    assert.deepEqual(wildcard.sent, ['1>2001:db8::1:5001'], 'its peers are answered through [::] again');

    state.throws = true;
    await refresh();
    assert.equal(multi.boundAddresses.length, 3, 'a list that cannot be read changes nothing');
    state.throws = false;
    state.addresses = ['2001:db8:1::c'];
    await refresh();
    assert.deepEqual(multi.boundAddresses, [], 'down to one address: the kernel picks again');
    assert.ok([...sockets.values()].every((s) => s.closed));
  });

  test('close closes every socket and stops refreshing; a bind that ends after close is closed', async () => {
    const { multi, wildcard, sockets, pending } = await setup(['2001:db8:1::a', '2001:db8:1::b']);
    const timer = pending()!;
    multi.close();
    multi.close();
    assert.equal(wildcard.closed, true);
    assert.ok([...sockets.values()].every((s) => s.closed));
    assert.equal(timer.cancelled, true);
    assert.deepEqual(multi.boundAddresses, []);

    // A refresh already running when the socket closes: its binds are closed as they complete.
    let list = ['2001:db8:1::y', '2001:db8:1::x'];
    let runTimer!: () => void;
    let release!: () => void;
    const late = new FakeSocket({ host: '2001:db8:1::z', port: 6881 });
    const slow = await MultiAddressUdpSocket.open({
      wildcard: new FakeSocket({ host: '::', port: 6881 }),
      bindAt: (host) => (host === late.local.host ? new Promise<UdpSocket>((resolve) => (release = () => resolve(late))) : Promise.resolve(new FakeSocket({ host, port: 6881 }))),
      addresses: () => list,
      setTimer: (_ms, fn) => ((runTimer = fn), { cancel: () => {} }),
    });
    list = ['2001:db8:1::y', late.local.host];
    runTimer(); // the bind of the new address hangs
    await new Promise((resolve) => setImmediate(resolve));
    slow.close();
    release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(late.closed, true);
    assert.deepEqual(slow.boundAddresses, []);
  });

  test(`remembers at most ${MAX_REMEMBERED_PEERS} peers: the oldest is answered through [::]`, async () => {
    const { multi, wildcard, sockets } = await setup(['2001:db8:1::a', '2001:db8:1::b']);
    const a = sockets.get('2001:db8:1::a')!;
    const at = (n: number): Endpoint => ({ host: '2001:db8::1', port: n });
    for (let n = 1; n <= MAX_REMEMBERED_PEERS + 1; n++) a.deliver(0, at(n));
    multi.send(new Uint8Array([1]), at(1));
    multi.send(new Uint8Array([2]), at(2));
    multi.send(new Uint8Array([3]), at(MAX_REMEMBERED_PEERS + 1));
    assert.deepEqual(wildcard.sent, ['1>2001:db8::1:1']);
    assert.deepEqual(a.sent, ['2>2001:db8::1:2', `3>2001:db8::1:${MAX_REMEMBERED_PEERS + 1}`]);
  });
});
