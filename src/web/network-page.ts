/**
 * The network page (`#/network`): this node (ids, addresses, totals), the DHT's counters and stored
 * items, the id-space ring, a lookup tool (`POST /api/dht/lookup`, with a random-target button) and
 * the routing table bucket by bucket. `GET /api/node` and `GET /api/dht` every 3 s while visible.
 */
import type { DhtBucketView, DhtView, LookupView, NodeView, PortMappingView } from '../node/view-types.js';
import { api, ApiError, errorMessage } from './api.js';
import { h, icon, refreshWhileVisible, setText } from './dom.js';
import { formatAgo, formatBytes, formatCount, formatDuration, shortId } from './format.js';
import { renderRing } from './id-ring.js';
import { idFromText, randomId, sharedBits } from './ids.js';
import { copyField, errorLine, facts } from './widgets.js';

const REFRESH_MS = 3000;
const K = 8;

/** `queriesReceived` → `queries received`; `queriesIn.find_node` → `queries in · find_node`. */
function counterLabel(name: string): string {
  const [head = '', ...rest] = name.split('.');
  const words = head.replace(/_/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return rest.length ? `${words} · ${rest.join('.')}` : words;
}

function bucketElement(bucket: DhtBucketView, open: boolean, nodeId: string, hits: Set<string>): HTMLDetailsElement {
  const slots = h('span', { class: 'slots', 'aria-hidden': 'true' });
  const size = Math.max(K, bucket.contacts.length);
  for (let i = 0; i < size; i++) {
    const contact = bucket.contacts[i];
    slots.append(h('span', { class: `slot${contact ? (contact.failures > 0 ? ' failing' : ' good') : ''}` }));
  }
  const summary = h('summary', { class: 'bucket-summary' },
    h('span', { class: 'bucket-index' }, `Bucket ${bucket.index}`),
    slots,
    h('span', { class: 'bucket-count' },
      `${bucket.contacts.length} ${bucket.contacts.length === 1 ? 'contact' : 'contacts'}`,
      bucket.replacements ? ` · ${plural(bucket.replacements, 'replacement')}` : null));
  const rows = [...bucket.contacts].sort((a, b) => b.lastSeen - a.lastSeen).map((c) =>
    h('tr', { class: hits.has(c.id) ? 'hit' : '', testid: 'contact-row' },
      h('td', { title: c.id }, h('div', { class: 'mono' }, shortId(c.id, 10, 6)), h('div', { class: 'inline-address mono' }, c.address)),
      h('td', { class: 'mono col-address' }, c.address),
      h('td', {}, formatAgo(c.lastSeen)),
      h('td', { class: `num${c.failures > 0 ? ' warn' : ''}` }, String(c.failures))));
  const body = bucket.contacts.length
    ? h('div', { class: 'table-scroll' }, h('table', { class: 'table compact' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Id'), h('th', { class: 'col-address' }, 'Address'), h('th', {}, 'Last seen'), h('th', { class: 'num' }, 'Failures'))),
      h('tbody', {}, ...rows)))
    : h('p', { class: 'card-note' }, 'No contacts.');
  const note = h('p', { class: 'card-note' },
    `Ids sharing ${bucket.index} leading bits with ours (${nodeId ? shortId(nodeId) : 'this node'}).`,
    bucket.replacements ? ` ${bucket.replacements} replacement ${bucket.replacements === 1 ? 'contact waits' : 'contacts wait'} for a slot.` : '');
  return h('details', { class: 'bucket', testid: 'bucket', 'data-index': bucket.index, open }, summary, body, note);
}


/** How each encryption policy reads on the page. */
const ENCRYPTION_TEXT: Record<string, string> = {
  prefer: 'preferred (handshake always, RC4 when a peer insists)',
  require: 'required (RC4 with every peer)',
  allow: 'allowed (plain first)',
};
/** The router's port mappings as a fact: how many are mapped, and each one's state in its title. */
function portMappingFact(view: PortMappingView | undefined): [string, string | undefined] {
  if (!view) return ['off (warren node --port-map turns it on)', undefined];
  const mapped = view.mappings.filter((m) => m.state === 'mapped').length;
  const text = `${mapped} of ${view.mappings.length} mapped${view.externalAddress ? `, reachable at ${view.externalAddress}` : ''}`;
  const each = view.mappings.map((m) => `${m.via === 'upnp' ? 'UPnP' : 'NAT-PMP'} ${m.protocol.toUpperCase()} ${m.internalPort}: ${m.state}${m.error ? ` (${m.error})` : ''}`);
  return [text, each.join('\n')];
}

export function mountNetworkPage(root: HTMLElement): () => void {
  const errors = errorLine();
  let dht: DhtView | null = null;
  let lookup: LookupView | null = null;

  // This node.
  const nodeFacts = facts([
    ['nodeId', 'Node id'], ['dhtAddress', 'DHT (UDP)'], ['swarmAddress', 'Swarm'], ['version', 'Version'],
    ['uptime', 'Running for'], ['torrents', 'Torrents'], ['peers', 'Peers'], ['transfer', 'Transferred'],
    ['encryption', 'Encryption'], ['portMapping', 'Port mapping'], ['limits', 'Rate limits'], ['dataDir', 'Data directory'],
  ]);
  const nodeCard = h('section', { class: 'card', testid: 'node-card' }, h('h2', { class: 'card-title' }, 'This node'), nodeFacts.el);

  // The DHT's numbers.
  const dhtFacts = facts([['nodes', 'Nodes'], ['buckets', 'Buckets'], ['stored', 'Stored']]);
  const counters = h('dl', { class: 'counters', testid: 'counters' });
  const dhtCard = h('section', { class: 'card', testid: 'dht-card' }, h('h2', { class: 'card-title' }, 'DHT'), dhtFacts.el,
    h('h3', { class: 'card-subtitle' }, 'Counters'), counters);

  // The ring.
  const ringHolder = h('div', { class: 'ring-holder' });
  const ringCaption = h('p', { class: 'card-note' });
  const ringCard = h('section', { class: 'card ring-card', testid: 'ring-card' },
    h('h2', { class: 'card-title' }, 'Neighbourhood in the id space'),
    ringCaption,
    ringHolder,
    h('ul', { class: 'legend' },
      h('li', {}, h('span', { class: 'key key-self' }), 'our node'),
      h('li', {}, h('span', { class: 'key key-contact' }), 'contact (closer bucket: further out, larger)'),
      h('li', {}, h('span', { class: 'key key-failing' }), 'not answering'),
      h('li', {}, h('span', { class: 'key key-target' }), 'lookup target'),
      h('li', {}, h('span', { class: 'key key-hit' }), 'lookup result')));

  // The lookup tool.
  const lookupInput = h('input', {
    class: 'mono', type: 'text', testid: 'lookup-input', placeholder: '40 hex characters (an id or infohash)',
    'aria-label': 'Lookup target', autocomplete: 'off', spellcheck: 'false', maxlength: '200',
  });
  const lookupSubmit = h('button', { class: 'button primary', type: 'submit', testid: 'lookup-submit' }, icon('search'), h('span', {}, 'Look up'));
  const lookupRandom = h('button', { class: 'button', type: 'button', testid: 'lookup-random', title: 'A random target' }, icon('dice'), h('span', {}, 'Random'));
  const lookupStatus = h('p', { class: 'card-note', 'aria-live': 'polite' },
    'Finds the nodes closest to a target and any peers announced for it as an infohash.');
  const lookupResult = h('div', { class: 'lookup-result', testid: 'lookup-result', hidden: true });
  const lookupForm = h('form', { class: 'lookup-form' }, lookupInput, h('div', { class: 'lookup-buttons' }, lookupRandom, lookupSubmit));
  const lookupCard = h('section', { class: 'card', testid: 'lookup-card' },
    h('h2', { class: 'card-title' }, 'Lookup'), lookupForm, lookupStatus, lookupResult);

  // The routing table.
  const bucketList = h('div', { class: 'buckets', testid: 'buckets' });
  const tableCount = h('span', { class: 'section-count' });
  const tableCard = h('section', { class: 'card', testid: 'routing-table' },
    h('h2', { class: 'card-title' }, 'Routing table ', tableCount), bucketList);

  const off = h('section', { class: 'card empty', testid: 'dht-off', hidden: true },
    h('p', { class: 'empty-title' }, 'The DHT is off'),
    h('p', {}, 'This node runs without the DHT, so there is no routing table to show.'));

  const nodeGrid = h('div', { class: 'grid-2' }, nodeCard, dhtCard);
  const dhtParts = h('div', { class: 'network-dht' },
    h('div', { class: 'grid-2' }, ringCard, lookupCard),
    tableCard);
  root.append(
    h('div', { class: 'section-head' }, h('h1', { class: 'section-title' }, 'Network')),
    errors.el,
    nodeGrid,
    off,
    dhtParts);

  const openBuckets = new Set<number>();
  bucketList.addEventListener('toggle', (e) => {
    const el = e.target as HTMLDetailsElement;
    const index = Number(el.dataset.index);
    if (el.open) openBuckets.add(index);
    else openBuckets.delete(index);
  }, true);

  let nodeIdField: ReturnType<typeof copyField> | null = null;
  function showNode(n: NodeView): void {
    const id = n.nodeId ?? dht?.nodeId;
    if (id) {
      if (!nodeIdField) {
        nodeIdField = copyField(id, { testid: 'node-id', label: 'Node id' });
        const dd = nodeFacts.el.querySelector('dd[data-key="nodeId"]');
        dd?.replaceChildren(nodeIdField.el);
      } else {
        nodeIdField.set(id);
      }
    } else {
      nodeFacts.set('nodeId', 'no DHT');
    }
    const dhtAddresses = dht?.families && dht.families.length > 1 ? dht.families.map((f) => f.address).join(', ') : undefined;
    nodeFacts.set('dhtAddress', dhtAddresses ?? n.dhtAddress ?? dht?.address ?? '—');
    nodeFacts.set('swarmAddress', `${(n.swarmAddresses ?? [n.swarmAddress]).join(', ')} (${n.utp ? 'TCP and uTP' : 'TCP'})`);
    nodeFacts.set('version', n.version);
    nodeFacts.set('uptime', formatDuration((Date.now() - n.startedAt) / 1000));
    nodeFacts.set('torrents', String(n.torrents));
    nodeFacts.set('peers', String(n.peers));
    nodeFacts.set('transfer', `↓ ${formatBytes(n.downloaded)}  ↑ ${formatBytes(n.uploaded)}`);
    nodeFacts.set('encryption', ENCRYPTION_TEXT[n.encryption] ?? n.encryption);
    nodeFacts.set('portMapping', ...portMappingFact(n.portMapping));
    const limit = (bytes: number) => (bytes > 0 ? `${formatBytes(bytes)}/s` : 'none');
    nodeFacts.set('limits', `↓ ${limit(n.downloadLimit)}  ↑ ${limit(n.uploadLimit)} per torrent`);
    nodeFacts.set('dataDir', n.dataDir, n.dataDir);
  }

  function showDht(d: DhtView): void {
    off.hidden = d.enabled;
    dhtParts.hidden = !d.enabled;
    dhtCard.hidden = !d.enabled;
    nodeGrid.classList.toggle('single', !d.enabled);
    if (!d.enabled) return;
    const used = d.buckets.filter((b) => b.contacts.length > 0);
    // BEP 32: one routing table per address family; the buckets below are the first family's.
    const perFamily = d.families && d.families.length > 1 ? d.families.map((f) => `IPv${f.family} ${formatCount(f.nodes)}`).join(', ') : undefined;
    dhtFacts.set('nodes', perFamily ? `${formatCount(d.nodes)} in the routing tables (${perFamily})` : `${formatCount(d.nodes)} in the routing table`);
    dhtFacts.set('buckets', `${used.length} in use of ${d.buckets.length}`);
    dhtFacts.set('stored', `${formatCount(d.stored.infoHashes)} infohashes, ${formatCount(d.stored.peers)} peers, ${formatCount(d.stored.items)} items for others`);
    const entries = Object.entries(d.counters);
    counters.replaceChildren(...(entries.length
      ? entries.map(([k, v]) => h('div', { class: 'counter' }, h('dt', {}, counterLabel(k)), h('dd', {}, formatCount(v))))
      : [h('p', { class: 'card-note' }, 'No counters yet.')]));
    const shown = d.families?.[0];
    const inTable = shown?.nodes ?? d.nodes;
    setText(tableCount, `${formatCount(inTable)} ${inTable === 1 ? 'node' : 'nodes'}${perFamily && shown ? ` (IPv${shown.family})` : ''}`);
    drawTable();
    drawRing();
  }

  function hits(): Set<string> {
    return new Set(lookup?.closest.map((c) => c.id) ?? []);
  }

  function drawTable(): void {
    if (!dht) return;
    const nodeId = dht.nodeId ?? '';
    const buckets = [...dht.buckets].sort((a, b) => a.index - b.index);
    const visible = buckets.filter((b) => b.contacts.length > 0 || b.replacements > 0);
    bucketList.replaceChildren(...(visible.length
      ? visible.map((b) => bucketElement(b, openBuckets.has(b.index), nodeId, hits()))
      : [h('p', { class: 'card-note' }, 'The routing table is empty: no other node is known yet.')]));
  }

  function drawRing(): void {
    if (!dht?.nodeId) {
      ringHolder.replaceChildren(h('p', { class: 'card-note' }, 'No node id yet.'));
      return;
    }
    ringHolder.replaceChildren(renderRing({ nodeId: dht.nodeId, buckets: dht.buckets, lookup }));
    const contacts = dht.buckets.reduce((n, b) => n + b.contacts.length, 0);
    const used = dht.buckets.filter((b) => b.contacts.length > 0).length;
    setText(ringCaption, `${formatCount(contacts)} ${contacts === 1 ? 'contact' : 'contacts'} in ${used} ${used === 1 ? 'bucket' : 'buckets'}, each at its id's place on the circle; the more leading bits it shares with ours, the further out.`);
  }

  function showLookup(result: LookupView): void {
    lookup = result;
    const ours = dht?.nodeId;
    setText(lookupStatus, `${result.closest.length} closest ${result.closest.length === 1 ? 'node' : 'nodes'} and ${result.peers.length} ${result.peers.length === 1 ? 'peer' : 'peers'} found in ${formatCount(Math.round(result.ms))} ms.`);
    const rows = result.closest.map((c, i) =>
      h('tr', { testid: 'lookup-row' },
        h('td', { class: 'num muted' }, String(i + 1)),
        h('td', { title: c.id }, h('div', { class: 'mono' }, shortId(c.id, 10, 6)), h('div', { class: 'inline-address mono' }, c.address)),
        h('td', { class: 'mono col-address' }, c.address),
        h('td', { class: 'mono', title: `XOR distance ${c.distance}` }, shortId(c.distance, 10, 0)),
        h('td', { class: 'num', title: 'Leading bits shared with the target' }, String(sharedBits(result.target, c.id)))));
    lookupResult.replaceChildren(
      h('p', { class: 'lookup-target' }, 'Target ', h('span', { class: 'mono break' }, result.target),
        ours ? h('span', { class: 'muted' }, ` · shares ${plural(sharedBits(ours, result.target), 'bit')} with our id`) : null),
      result.closest.length
        ? h('div', { class: 'table-scroll' }, h('table', { class: 'table compact' },
          h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, 'Node'), h('th', { class: 'col-address' }, 'Address'), h('th', {}, 'XOR distance'), h('th', { class: 'num' }, 'Bits'))),
          h('tbody', {}, ...rows)))
        : h('p', { class: 'card-note' }, 'No nodes answered.'),
      h('h3', { class: 'card-subtitle' }, `Peers (${result.peers.length})`),
      result.peers.length
        ? h('ul', { class: 'chips', testid: 'lookup-peers' }, ...result.peers.map((p) => h('li', { class: 'chip mono' }, p)))
        : h('p', { class: 'card-note' }, 'No peers are announced for this target.'));
    lookupResult.hidden = false;
    drawRing();
    drawTable();
  }

  let looking = false;
  lookupForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (looking) return;
    const target = idFromText(lookupInput.value);
    if (!target) {
      errors.show('A lookup target is 40 hex characters (a node id or an infohash).');
      lookupInput.focus();
      return;
    }
    lookupInput.value = target;
    errors.clear();
    looking = true;
    lookupSubmit.disabled = true;
    lookupForm.classList.add('busy');
    setText(lookupStatus, 'Looking up…');
    try {
      showLookup(await api.lookup(target));
    } catch (err) {
      setText(lookupStatus, 'The lookup failed.');
      errors.show(errorMessage(err));
    } finally {
      looking = false;
      lookupSubmit.disabled = false;
      lookupForm.classList.remove('busy');
    }
  });
  lookupRandom.addEventListener('click', () => {
    lookupInput.value = randomId();
    lookupForm.requestSubmit();
  });

  let refreshFailed = false;
  let controller = new AbortController();
  async function refresh(): Promise<void> {
    controller.abort();
    controller = new AbortController();
    const signal = controller.signal;
    const [n, d] = await Promise.allSettled([api.node(signal), api.dht(signal)]);
    if (signal.aborted) return;
    const failure = [n, d].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (d.status === 'fulfilled') {
      dht = d.value;
      showDht(d.value);
    } else if (d.reason instanceof ApiError && d.reason.status === 503) {
      showDht({ enabled: false, nodes: 0, buckets: [], stored: { infoHashes: 0, peers: 0, items: 0 }, counters: {} });
    }
    if (n.status === 'fulfilled') {
      showNode(n.value);
    }
    const serious = failure && !(failure.reason instanceof ApiError && failure.reason.status === 503);
    if (serious) {
      errors.show(errorMessage(failure.reason));
      refreshFailed = true;
    } else if (refreshFailed) {
      // Clear only what a refresh showed; a lookup's error stays until the next action.
      errors.clear();
      refreshFailed = false;
    }
  }

  const stopRefreshing = refreshWhileVisible(() => void refresh(), REFRESH_MS);

  return () => {
    stopRefreshing();
    controller.abort();
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
