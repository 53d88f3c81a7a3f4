/**
 * The piece map: a `<canvas>` grid with one cell per piece (or, for very many pieces, per run of
 * pieces, shaded by how many of them are verified). Starts from the detail's base64 bitfield (BEP 3
 * order: piece 0 is the high bit of byte 0) and fills in cell by cell from `piece` events. Colours
 * come from CSS custom properties, so it follows the light/dark scheme; redraws on resize.
 */

const MAX_HEIGHT = 180;
const CELL_SIZES = [14, 12, 10, 8, 6, 5, 4, 3];

export function decodeBitfield(base64: string, count: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(count / 8));
  let raw = '';
  try {
    raw = atob(base64);
  } catch {
    raw = '';
  }
  for (let i = 0; i < bits.length && i < raw.length; i++) bits[i] = raw.charCodeAt(i);
  return bits;
}

export function hasPiece(bits: Uint8Array, index: number): boolean {
  return ((bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
}

interface Layout {
  /** Pieces per cell (1 unless there are very many). */
  group: number;
  cells: number;
  cols: number;
  cell: number;
  gap: number;
  width: number;
  height: number;
}

export class PieceMap {
  readonly el: HTMLCanvasElement;
  private bits: Uint8Array = new Uint8Array(0);
  private count = 0;
  private layout: Layout | null = null;
  private colors = { have: '#3b82f6', missing: '#e5e7eb' };
  private readonly resize: ResizeObserver;
  private readonly scheme = window.matchMedia('(prefers-color-scheme: dark)');
  private readonly onScheme = () => this.redraw();
  private frame = 0;

  constructor() {
    this.el = document.createElement('canvas');
    this.el.className = 'piece-map';
    this.el.dataset.testid = 'piece-map';
    this.el.setAttribute('role', 'img');
    // Redraw when the width changes, a frame later: setting the height inside the observer's
    // callback would re-trigger it in the same frame.
    this.resize = new ResizeObserver(() => {
      if (Math.floor(this.el.clientWidth) === this.layout?.width || this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.redraw();
      });
    });
    this.resize.observe(this.el);
    this.scheme.addEventListener('change', this.onScheme);
  }

  /** Replaces the whole map from a base64 bitfield. */
  setBitfield(base64: string, count: number): void {
    const next = decodeBitfield(base64, count);
    const same = count === this.count && next.length === this.bits.length && next.every((b, i) => b === this.bits[i]);
    if (same) return;
    this.bits = next;
    this.count = count;
    this.redraw();
  }

  /** Marks one piece verified (from a `piece` event) and draws only its cell. */
  setPiece(index: number): void {
    if (index < 0 || index >= this.count || hasPiece(this.bits, index)) return;
    this.bits[index >> 3]! |= 0x80 >> (index & 7);
    this.label();
    if (!this.layout) return;
    const ctx = this.el.getContext('2d');
    if (ctx) this.drawCell(ctx, this.layout, Math.floor(index / this.layout.group));
  }

  /** Verified pieces. */
  had(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (hasPiece(this.bits, i)) n++;
    return n;
  }

  destroy(): void {
    this.resize.disconnect();
    cancelAnimationFrame(this.frame);
    this.scheme.removeEventListener('change', this.onScheme);
  }

  private label(): void {
    this.el.setAttribute('aria-label', `Piece map: ${this.had()} of ${this.count} pieces verified`);
  }

  private computeLayout(width: number): Layout | null {
    if (width <= 0 || this.count <= 0) return null;
    for (const cell of CELL_SIZES) {
      const gap = cell >= 6 ? 2 : 1;
      const cols = Math.max(1, Math.floor((width + gap) / cell));
      const rows = Math.ceil(this.count / cols);
      if (rows * cell <= MAX_HEIGHT) return { group: 1, cells: this.count, cols, cell, gap, width, height: rows * cell - gap };
    }
    const cell = CELL_SIZES[CELL_SIZES.length - 1]!;
    const cols = Math.max(1, Math.floor((width + 1) / cell));
    const maxCells = cols * Math.floor(MAX_HEIGHT / cell);
    const group = Math.ceil(this.count / maxCells);
    const cells = Math.ceil(this.count / group);
    return { group, cells, cols, cell, gap: 1, width, height: Math.ceil(cells / cols) * cell - 1 };
  }

  private readColors(): void {
    const style = getComputedStyle(this.el);
    this.colors = {
      have: style.getPropertyValue('--piece-have').trim() || this.colors.have,
      missing: style.getPropertyValue('--piece-missing').trim() || this.colors.missing,
    };
  }

  private drawCell(ctx: CanvasRenderingContext2D, layout: Layout, cellIndex: number): void {
    const x = (cellIndex % layout.cols) * layout.cell;
    const y = Math.floor(cellIndex / layout.cols) * layout.cell;
    const size = layout.cell - layout.gap;
    let fraction: number;
    if (layout.group === 1) {
      fraction = hasPiece(this.bits, cellIndex) ? 1 : 0;
    } else {
      const first = cellIndex * layout.group;
      const last = Math.min(this.count, first + layout.group);
      let n = 0;
      for (let i = first; i < last; i++) if (hasPiece(this.bits, i)) n++;
      fraction = n / (last - first);
    }
    ctx.clearRect(x, y, size, size);
    ctx.globalAlpha = 1;
    ctx.fillStyle = this.colors.missing;
    ctx.fillRect(x, y, size, size);
    if (fraction > 0) {
      ctx.globalAlpha = fraction === 1 ? 1 : 0.25 + 0.6 * fraction;
      ctx.fillStyle = this.colors.have;
      ctx.fillRect(x, y, size, size);
      ctx.globalAlpha = 1;
    }
  }

  /** Lays out and draws every cell (on new data, a resize or a scheme change). */
  redraw(): void {
    const width = Math.floor(this.el.clientWidth);
    const layout = this.computeLayout(width);
    this.layout = layout;
    this.label();
    if (!layout) {
      this.el.height = 0;
      return;
    }
    const ratio = window.devicePixelRatio || 1;
    const pxWidth = Math.round(layout.width * ratio);
    const pxHeight = Math.round(layout.height * ratio);
    if (this.el.width !== pxWidth) this.el.width = pxWidth;
    if (this.el.height !== pxHeight) this.el.height = pxHeight;
    const cssHeight = `${layout.height}px`;
    if (this.el.style.height !== cssHeight) this.el.style.height = cssHeight;
    const ctx = this.el.getContext('2d');
    if (!ctx) return;
    this.readColors();
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, layout.width, layout.height);
    for (let c = 0; c < layout.cells; c++) this.drawCell(ctx, layout, c);
  }
}
