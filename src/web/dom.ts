/**
 * Tiny DOM helpers: `h()` builds an HTML element from a tag, attributes and children, `s()` does the
 * same for SVG. Attributes named `on<event>` with a function value become listeners, `testid`
 * becomes `data-testid`, `true` sets an empty attribute and `false`/`null`/`undefined` skip it.
 * No inline `style` attributes anywhere (the page's CSP forbids them): style with classes, or with
 * `element.style.x = ...` from script.
 */

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, unknown>;

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el: Element, attrs: Attrs | undefined, children: Child[]): void {
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2), value as EventListener);
      } else if (key === 'testid') {
        el.setAttribute('data-testid', String(value));
      } else if (key === 'style') {
        throw new Error('inline style attributes are blocked by the CSP; use a class');
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'number' ? String(child) : child);
  }
}

/** An HTML element. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs, children);
  return el;
}

/** An SVG element. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs, children);
  return el;
}

/** Sets an element's text only when it changed (keeps selections and avoids layout churn). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Sets or removes an attribute only when it changed. */
export function setAttr(el: Element, name: string, value: string | null): void {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) {
    el.setAttribute(name, value);
  }
}

/** Small stroked icons (24-unit view box), drawn with SVG so no icon font or image is needed. */
const ICONS: Record<string, string[]> = {
  pause: ['M8 5v14', 'M16 5v14'],
  play: ['M7 4.5v15l12-7.5z'],
  trash: ['M4 7h16', 'M9 7V4.5h6V7', 'M6.5 7l1 13h9l1-13', 'M10 11v5.5', 'M14 11v5.5'],
  copy: ['M9 9h10v11H9z', 'M5 15V4h10'],
  check: ['M5 12.5l4.5 4.5L19 7.5'],
  link: ['M10 14a4 4 0 0 0 5.66 0l3-3a4 4 0 0 0-5.66-5.66l-1 1', 'M14 10a4 4 0 0 0-5.66 0l-3 3a4 4 0 0 0 5.66 5.66l1-1'],
  upload: ['M12 16V4', 'M7 9l5-5 5 5', 'M4 15v4.5h16V15'],
  file: ['M6 3h8l4 4v14H6z', 'M14 3v4h4'],
  back: ['M15 5l-7 7 7 7'],
  dice: ['M4.5 4.5h15v15h-15z', 'M9 9h.01', 'M15 15h.01', 'M15 9h.01', 'M9 15h.01', 'M12 12h.01'],
  search: ['M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13z', 'M15.5 15.5L20 20'],
  close: ['M6 6l12 12', 'M18 6L6 18'],
  verify: ['M19.5 12a7.5 7.5 0 1 1-2.2-5.3', 'M19.5 4.5v4h-4', 'M9 12.2l2.2 2.2 4-4.4'],
};

export function icon(name: keyof typeof ICONS | string): SVGSVGElement {
  const paths = ICONS[name] ?? [];
  return s('svg', { class: `icon icon-${name}`, viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' },
    ...paths.map((d) => s('path', { d })));
}

/**
 * Calls `refresh` now and every `ms` while the page is visible, and at once when it becomes
 * visible again. Returns the function that stops it.
 */
export function refreshWhileVisible(refresh: () => void, ms: number): () => void {
  const whenVisible = () => {
    if (document.visibilityState === 'visible') refresh();
  };
  const timer = setInterval(whenVisible, ms);
  document.addEventListener('visibilitychange', whenVisible);
  refresh();
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', whenVisible);
  };
}
