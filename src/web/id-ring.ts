/**
 * The node's neighbourhood in the id space, as an SVG ring: the circle is the whole 160-bit space
 * (an id's leading bits give its angle, 00… at the top, clockwise), our node sits on the rim, and
 * every routing-table contact is placed at its own angle. Contacts in closer buckets (more leading
 * bits shared with us) are drawn further out, nearer our node on the rim, larger and stronger;
 * far buckets sit towards the centre. A band outside the rim shows which part of the space each
 * bucket covers (bucket 0 is the far half). The last lookup's target and closest nodes are
 * highlighted.
 */
import type { DhtBucketView, LookupView } from '../node/view-types.js';
import { s } from './dom.js';
import { formatAgo } from './format.js';
import { idFraction, sharedBits } from './ids.js';

const R = 160;
const INNER = 0.4;

interface Point {
  x: number;
  y: number;
}

function point(radius: number, fraction: number): Point {
  const angle = fraction * 2 * Math.PI - Math.PI / 2;
  return { x: radius * Math.cos(angle), y: radius * Math.sin(angle) };
}

function fmt(n: number): string {
  return n.toFixed(2);
}

function arcPath(radius: number, from: number, width: number): string {
  if (width >= 1) {
    // A full circle, as two half arcs.
    return `M0 ${-radius}A${radius} ${radius} 0 1 1 0 ${radius}A${radius} ${radius} 0 1 1 0 ${-radius}`;
  }
  const a = point(radius, from);
  const b = point(radius, from + width);
  return `M${fmt(a.x)} ${fmt(a.y)}A${radius} ${radius} 0 ${width > 0.5 ? 1 : 0} 1 ${fmt(b.x)} ${fmt(b.y)}`;
}

/**
 * Where bucket `index`'s ids lie in the space, as [start, width] fractions (on 32 leading bits): ids
 * sharing exactly `index` bits with ours, or, for the last bucket, at least `index` bits (the part
 * of the space around our own id, the whole circle while the table has one bucket).
 */
export function bucketRange(nodeId: string, index: number, last = false): [number, number] {
  const lead = parseInt(nodeId.slice(0, 8), 16);
  const bits = last ? index : index + 1;
  if (bits >= 32) return [lead / 2 ** 32, 2 ** -32];
  const unit = 2 ** (32 - bits);
  const prefix = Math.floor(lead / unit);
  const start = (last ? prefix : prefix ^ 1) * unit;
  return [start / 2 ** 32, unit / 2 ** 32];
}

export interface RingData {
  nodeId: string;
  buckets: DhtBucketView[];
  lookup: LookupView | null;
}

export function renderRing(data: RingData): SVGSVGElement {
  const { nodeId, buckets, lookup } = data;
  const nonEmpty = buckets.filter((b) => b.contacts.length > 0);
  const lastIndex = Math.max(0, ...buckets.map((b) => b.index));
  // Placement uses the bits a contact shares with us (its bucket index, except in the last bucket,
  // where it may share more).
  const shared = (id: string) => sharedBits(nodeId, id);
  const deepest = Math.max(4, ...nonEmpty.flatMap((b) => b.contacts.map((c) => Math.min(shared(c.id), 40))));
  const closeness = (bits: number) => Math.min(bits, deepest) / deepest;
  const radiusFor = (bits: number) => R * (INNER + (1 - INNER - 0.08) * closeness(bits));
  const total = buckets.reduce((n, b) => n + b.contacts.length, 0);

  const svg = s('svg', {
    class: 'id-ring', viewBox: '-215 -215 430 430', role: 'img', testid: 'id-ring',
    'aria-label': `Id space ring: our node and ${total} routing-table contacts`,
  });

  // The id space and its quarter marks.
  svg.append(s('circle', { class: 'ring-space', r: R }));
  for (const [fraction, label] of [[0, '00'], [0.25, '40'], [0.5, '80'], [0.75, 'c0']] as const) {
    const a = point(R - 4, fraction);
    const b = point(R + 4, fraction);
    const t = point(R - 16, fraction);
    svg.append(
      s('line', { class: 'ring-tick', x1: fmt(a.x), y1: fmt(a.y), x2: fmt(b.x), y2: fmt(b.y) }),
      s('text', { class: 'ring-tick-label', x: fmt(t.x), y: fmt(t.y), 'text-anchor': 'middle', 'dominant-baseline': 'middle' }, `${label}…`));
  }

  // A faint disc where the far buckets' contacts sit.
  svg.append(s('circle', { class: 'ring-inner', r: fmt(R * INNER) }));

  // Which part of the space each bucket covers, as a band outside the rim.
  for (const bucket of [...buckets].sort((a, b) => a.index - b.index)) {
    const i = bucket.index;
    const last = i === lastIndex;
    const [start, width] = bucketRange(nodeId, i, last);
    if (width * 360 < 0.05) continue;
    svg.append(s('path', {
      class: `ring-band${i % 2 ? ' odd' : ''}${bucket.contacts.length ? ' filled' : ''}`, d: arcPath(R + 11, start, width),
      'stroke-opacity': fmt(0.35 + 0.65 * closeness(i)),
    }, s('title', {}, `Bucket ${i}: ids sharing ${last ? 'at least ' : ''}${i} leading bits with ours`)));
    if (width * 360 >= 16) {
      const p = point(R + 28, start + width / 2);
      svg.append(s('text', { class: 'ring-band-label', x: fmt(p.x), y: fmt(p.y), 'text-anchor': 'middle', 'dominant-baseline': 'middle' }, `b${i}`));
    }
  }

  // Contacts, far buckets first so the close ones are drawn on top.
  const hits = new Set(lookup?.closest.map((c) => c.id) ?? []);
  const placed = nonEmpty.flatMap((b) => b.contacts.map((contact) => ({ contact, bucket: b.index, bits: shared(contact.id) })));
  placed.sort((x, y) => x.bits - y.bits);
  for (const { contact, bucket, bits } of placed) {
    const c = closeness(bits);
    const p = point(radiusFor(bits), idFraction(contact.id));
    svg.append(s('circle', {
      class: `ring-contact${contact.failures > 0 ? ' failing' : ''}${hits.has(contact.id) ? ' hit' : ''}`,
      cx: fmt(p.x), cy: fmt(p.y), r: fmt(3 + 3 * c), 'fill-opacity': fmt(0.55 + 0.45 * c),
      testid: 'ring-contact', 'data-bucket': bucket,
    }, s('title', {}, `${contact.id}\n${contact.address} · bucket ${bucket}\nseen ${formatAgo(contact.lastSeen)}${contact.failures ? ` · ${contact.failures} failed` : ''}`)));
  }

  // The last lookup: target on the rim, lines to the closest nodes found.
  if (lookup) {
    const target = point(R, idFraction(lookup.target));
    for (const node of lookup.closest) {
      const p = point(radiusFor(shared(node.id)), idFraction(node.id));
      svg.append(
        s('line', { class: 'ring-hit-line', x1: fmt(target.x), y1: fmt(target.y), x2: fmt(p.x), y2: fmt(p.y) }),
        s('circle', { class: 'ring-hit', cx: fmt(p.x), cy: fmt(p.y), r: 6, testid: 'ring-hit' },
          s('title', {}, `${node.id}\n${node.address}\nlookup result, distance ${node.distance.slice(0, 12)}…`)));
    }
    const size = 7;
    svg.append(s('path', {
      class: 'ring-target', testid: 'ring-target',
      d: `M${fmt(target.x)} ${fmt(target.y - size)}L${fmt(target.x + size)} ${fmt(target.y)}L${fmt(target.x)} ${fmt(target.y + size)}L${fmt(target.x - size)} ${fmt(target.y)}Z`,
    }, s('title', {}, `Lookup target ${lookup.target}`)));
  }

  // Our node on the rim, labelled outside the band.
  const self = point(R, idFraction(nodeId));
  const label = point(R + 44, idFraction(nodeId));
  svg.append(
    s('circle', { class: 'ring-self-halo', cx: fmt(self.x), cy: fmt(self.y), r: 13 }),
    s('circle', { class: 'ring-self', cx: fmt(self.x), cy: fmt(self.y), r: 7, testid: 'ring-self' }, s('title', {}, `Our node ${nodeId}`)),
    s('text', { class: 'ring-self-label', x: fmt(label.x), y: fmt(label.y), 'text-anchor': 'middle', 'dominant-baseline': 'middle' }, 'you'));
  return svg;
}
