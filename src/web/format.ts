/** Human-readable sizes, rates, durations, percentages and ids (binary units, like the command line). */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** `42s`, `3m 20s`, `2h 05m`, `3d 4h`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  const days = Math.floor(s / 86400);
  if (days > 365) return '> 1 year';
  return `${days}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Time left, or a dash when unknown or complete. */
export function formatEta(eta: number | null): string {
  return eta === null ? '—' : formatDuration(eta);
}

/** 0..1 as a percentage that only reads 100% when complete. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction) || fraction <= 0) return '0%';
  if (fraction >= 1) return '100%';
  const pct = Math.min(99.9, Math.floor(fraction * 1000) / 10);
  return `${pct.toFixed(1)}%`;
}

/** How long ago a time (ms since the epoch) was: `just now`, `12s ago`, `5m ago`, `3h ago`. */
export function formatAgo(ms: number, now = Date.now()): string {
  const seconds = Math.max(0, (now - ms) / 1000);
  if (seconds < 2) return 'just now';
  if (seconds < 60) return `${Math.floor(seconds)}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export function formatDate(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** The first and last characters of a long hex id: `c0ffee00…ee00`. */
export function shortId(id: string, head = 8, tail = 4): string {
  return id.length <= head + tail + 1 ? id : `${id.slice(0, head)}…${tail > 0 ? id.slice(-tail) : ''}`;
}

/** Upload over download, or a dash before anything was downloaded. */
export function formatRatio(uploaded: number, downloaded: number): string {
  if (downloaded <= 0) return uploaded > 0 ? '∞' : '—';
  return (uploaded / downloaded).toFixed(2);
}
