/**
 * Live updates: one EventSource on `/api/events?token=...` (EventSource cannot send headers), fanned
 * out to listeners by event type. Tracks the connection (`connecting`, `connected`, `reconnecting`)
 * and, after a reconnect, tells `resync` listeners to refetch what they may have missed.
 */
import type { NodeEvent } from '../node/view-types.js';
import { api, getToken } from './api.js';

export type EventType = NodeEvent['type'];
export type EventOf<K extends EventType> = Extract<NodeEvent, { type: K }>;
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

const TYPES: EventType[] = ['added', 'removed', 'torrents', 'piece', 'node'];

const listeners = new Map<EventType, Set<(event: NodeEvent) => void>>();
const stateListeners = new Set<(state: ConnectionState) => void>();
const resyncListeners = new Set<() => void>();

let source: EventSource | null = null;
let state: ConnectionState = 'connecting';
let everOpened = false;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let retryDelay = 1000;

/** Subscribes to one event type; returns the unsubscribe function. */
export function on<K extends EventType>(type: K, listener: (event: EventOf<K>) => void): () => void {
  let set = listeners.get(type);
  if (!set) listeners.set(type, (set = new Set()));
  const wrapped = listener as (event: NodeEvent) => void;
  set.add(wrapped);
  return () => set.delete(wrapped);
}

/** Subscribes to connection changes (called at once with the current state). */
export function onConnection(listener: (state: ConnectionState) => void): () => void {
  stateListeners.add(listener);
  listener(state);
  return () => stateListeners.delete(listener);
}

/** Called after the stream reconnects: events in the gap are lost, so refetch. */
export function onResync(listener: () => void): () => void {
  resyncListeners.add(listener);
  return () => resyncListeners.delete(listener);
}

export function connectionState(): ConnectionState {
  return state;
}

function setState(next: ConnectionState): void {
  if (next === state) return;
  state = next;
  for (const listener of stateListeners) listener(state);
}

function dispatch(data: string): void {
  let event: NodeEvent;
  try {
    event = JSON.parse(data) as NodeEvent;
  } catch {
    return;
  }
  const set = listeners.get(event.type);
  if (!set) return;
  for (const listener of [...set]) {
    try {
      listener(event);
    } catch (err) {
      console.warn('event listener failed', err);
    }
  }
}

function open(): void {
  const token = getToken();
  const es = new EventSource(`/api/events${token ? `?token=${encodeURIComponent(token)}` : ''}`);
  source = es;
  const handler = (e: MessageEvent<string>) => dispatch(e.data);
  for (const type of TYPES) es.addEventListener(type, handler as EventListener);
  es.addEventListener('message', handler);
  es.addEventListener('open', () => {
    retryDelay = 1000;
    const wasReconnect = everOpened;
    everOpened = true;
    setState('connected');
    if (wasReconnect) for (const listener of resyncListeners) listener();
  });
  es.addEventListener('error', () => {
    if (source !== es) return;
    setState(everOpened ? 'reconnecting' : 'connecting');
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. a non-200 answer): retry ourselves, slower each time. A cheap
      // request tells a dead node (keep retrying) from a refused token (the app shows the login).
      source = null;
      everOpened = true;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => {
        api.node().then(open, () => {
          if (getToken()) open();
        });
      }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    }
  });
}

/** Opens the stream (once). */
export function connect(): void {
  if (source) return;
  open();
}

/** Closes the stream for good (after the token was refused). */
export function disconnect(): void {
  clearTimeout(retryTimer);
  source?.close();
  source = null;
}
