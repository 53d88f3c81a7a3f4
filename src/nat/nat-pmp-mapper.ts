/**
 * Maps ports through NAT-PMP (RFC 6886) on the default gateway: asks its external address, then
 * maps each port for `LIFETIME_SECONDS`, renews at half the lifetime the gateway granted, maps
 * everything again when the gateway's epoch shows it lost its mappings (a reboot), and deletes
 * the mappings on close.
 *
 * One request is outstanding at a time, sent at once and again after 250 ms, 500 ms and 1 s, as
 * the RFC's doubling asks (it allows up to 64 s; a gateway that has not answered within 2 s of the
 * fourth send, 3.75 s in all, is taken to have none). An
 * answer is accepted only from the gateway's port 5351 and only for the request outstanding;
 * anything else is dropped and counted in `malformed`.
 */
import {
  decodeNatPmpAnswer,
  encodeExternalAddressRequest,
  encodeMappingRequest,
  NAT_PMP_PORT,
  NAT_PMP_RESULTS,
  type MappedProtocol,
  type NatPmpAnswer,
} from '../codec/nat-pmp.js';
import { DecodeError } from '../codec/errors.js';
import type { Endpoint, UdpSocket } from '../runtime/interfaces.js';
import { LIFETIME_SECONDS, MappingSet, RETRY_MS, type MapperDeps, type PortMapping, type PortRequest } from './mapping.js';

/** How long each send waits for its answer, in ms (the first send is at once). */
const RESEND_AFTER_MS = [250, 500, 1000, 2000];

interface Outstanding {
  op: 'external-address' | MappedProtocol;
  resolve(answer: NatPmpAnswer | undefined): void;
}

export class NatPmpMapper {
  /** Answers dropped: not from the gateway, malformed, or for no outstanding request. */
  malformed = 0;
  externalAddress: string | undefined;
  private socket: UdpSocket | undefined;
  private outstanding: Outstanding | undefined;
  /** Requests wait their turn here (one outstanding at a time). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly set: MappingSet;
  private lastEpoch: { epoch: number; at: number } | undefined;
  private closed = false;

  constructor(
    private readonly deps: MapperDeps,
    private readonly gateway: string,
    ports: readonly PortRequest[],
    onChange: () => void,
  ) {
    this.set = new MappingSet(deps, 'nat-pmp', ports, (state) => this.map(state), onChange);
  }

  mappings(): readonly PortMapping[] {
    return this.set.states;
  }

  /** Asks the gateway's address, then maps every port; resolves when each is mapped or failed. */
  async start(): Promise<void> {
    const gatewayEndpoint: Endpoint = { host: this.gateway, port: NAT_PMP_PORT };
    this.socket = await this.deps.runtime.udp({ host: '0.0.0.0', port: 0 });
    this.socket.onMessage((data, from) => this.receive(data, from, gatewayEndpoint));
    const answer = await this.request('external-address', encodeExternalAddressRequest());
    if (answer?.kind !== 'external-address' || answer.result !== 0) {
      const why = answer === undefined ? `no NAT-PMP answer from the gateway ${this.gateway}` : `the gateway refused: ${reason(answer.result)}`;
      for (const state of this.set.states) this.set.fail(state, why);
      return;
    }
    this.externalAddress = answer.address;
    this.deps.log('debug', `NAT-PMP: the gateway ${this.gateway} says our external address is ${answer.address}`);
    await Promise.all(this.set.states.map((state) => this.map(state)));
  }

  /** Deletes the mappings (each asked once, without waiting long), and stops. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.set.stop();
    this.outstanding?.resolve(undefined); // a request in progress stops
    const mapped = this.set.states.filter((s) => s.state === 'mapped');
    for (const state of mapped) {
      await this.request(state.protocol, encodeMappingRequest(state.protocol, state.internalPort, 0, 0), { sends: 2, evenIfClosed: true });
    }
    this.socket?.close();
  }

  private async map(state: PortMapping): Promise<void> {
    if (this.closed) return;
    const answer = await this.request(state.protocol, encodeMappingRequest(state.protocol, state.internalPort, state.externalPort ?? state.internalPort, LIFETIME_SECONDS));
    if (this.closed) return;
    if (answer?.kind !== 'mapping' || answer.result !== 0 || answer.lifetime === 0) {
      this.set.fail(state, answer === undefined ? `no NAT-PMP answer from the gateway ${this.gateway}` : `the gateway refused: ${reason(answer.result)}`);
      this.set.schedule(state, RETRY_MS);
      return;
    }
    this.set.mapped(state, answer.externalPort, `to ${this.externalAddress}:${answer.externalPort} for ${answer.lifetime} s`);
    this.set.schedule(state, (answer.lifetime * 1000) / 2);
  }

  /**
   * Sends a request (again on the schedule, `sends` times in all) and resolves with its answer, or
   * undefined if none came. Once closed, only requests `evenIfClosed` (the deletes) are sent.
   */
  private request(op: Outstanding['op'], bytes: Uint8Array, { sends = RESEND_AFTER_MS.length, evenIfClosed = false } = {}): Promise<NatPmpAnswer | undefined> {
    const run = async (): Promise<NatPmpAnswer | undefined> => {
      for (let attempt = 0; attempt < sends; attempt++) {
        if (this.socket === undefined || (this.closed && !evenIfClosed)) return undefined;
        this.socket.send(bytes, { host: this.gateway, port: NAT_PMP_PORT });
        const wait = RESEND_AFTER_MS[Math.min(attempt, RESEND_AFTER_MS.length - 1)]!;
        const answer = await new Promise<NatPmpAnswer | undefined>((resolve) => {
          const timer = this.deps.runtime.setTimer(wait, () => resolve(undefined));
          this.outstanding = {
            op,
            resolve: (a) => {
              timer.cancel();
              resolve(a);
            },
          };
        });
        this.outstanding = undefined;
        if (answer) return answer;
      }
      return undefined;
    };
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private receive(data: Uint8Array, from: Endpoint, gateway: Endpoint): void {
    if (from.host !== gateway.host || from.port !== gateway.port) {
      this.malformed++;
      return;
    }
    let answer: NatPmpAnswer;
    try {
      answer = decodeNatPmpAnswer(data);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.malformed++;
      this.deps.log('debug', `NAT-PMP: dropped an answer from the gateway: ${error.message}`);
      return;
    }
    const pending = this.outstanding;
    const op = answer.kind === 'external-address' ? 'external-address' : answer.protocol;
    if (!pending || pending.op !== op) {
      this.malformed++;
      return;
    }
    this.noteEpoch(answer.epoch);
    pending.resolve(answer);
  }

  /**
   * RFC 6886 3.6: a gateway whose epoch runs slower than our clock (less 1/8, less 2 s) lost its
   * mappings (it restarted): every mapped port is mapped again.
   */
  private noteEpoch(epoch: number): void {
    const now = this.deps.runtime.now();
    const last = this.lastEpoch;
    this.lastEpoch = { epoch, at: now };
    if (!last) return;
    const elapsed = (now - last.at) / 1000;
    if (epoch + 2 >= last.epoch + (elapsed * 7) / 8) return;
    this.deps.log('info', `NAT-PMP: the gateway ${this.gateway} lost its mappings (its epoch went from ${last.epoch} to ${epoch}); mapping again`);
    for (const state of this.set.states) if (state.state === 'mapped') this.set.schedule(state, 0);
  }
}

function reason(result: number): string {
  return NAT_PMP_RESULTS[result] ?? `result code ${result}`;
}
