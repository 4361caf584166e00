// A few DOM helpers, so the screens read as markup without a framework.

/**
 * Makes an element. `props` keys:
 * - `class`, `id`, `text` (textContent), `html` is deliberately not offered
 * - `on<event>` (`onclick`, `onsubmit`, ...) adds a listener
 * - `dataset` (object), `hidden`, `disabled`, `value`, `type`, `checked`
 * - anything else is set as an attribute (`aria-label`, `data-testid`, `for`, ...);
 *   `null`, `undefined` and `false` leave it out, `true` sets it empty
 * @param {string} tag
 * @param {Record<string, any> | null} [props]
 * @param {...(Node | string | null | undefined | false | (Node | string | null | undefined | false)[])} children
 * @returns {HTMLElement}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'hidden' || name === 'disabled' || name === 'checked' || name === 'value') /** @type {any} */ (el)[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} parent
 * @param {any[]} children
 */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child);
  }
}

/**
 * Replaces the children of `container` with what `build` returns, keeping keyboard focus on
 * the "same" control when it is rebuilt: the one with the same `data-testid` (or
 * `data-focus-key`). Lists are rebuilt whole when data changes; without this a presence
 * update would throw the focus of a keyboard user back to the top of the page.
 * @param {Element} container
 * @param {() => (Node | null | false)[]} build
 */
export function rebuild(container, build) {
  const active = document.activeElement;
  const key = active && container.contains(active)
    ? active.getAttribute('data-focus-key') ?? active.getAttribute('data-testid') : null;
  container.replaceChildren(.../** @type {Node[]} */ (build().filter((n) => n)));
  if (key) {
    const again = [...container.querySelectorAll('[data-focus-key],[data-testid]')].find(
      (el) => (el.getAttribute('data-focus-key') ?? el.getAttribute('data-testid')) === key);
    if (again instanceof HTMLElement) again.focus({ preventScroll: true });
  }
}

/**
 * Sets text only when it changed (so screen readers and layout are not disturbed needlessly).
 * @param {Element} el
 * @param {string} text
 */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Shows or hides an element. Elements whose test id may occur twice in the page (the media
 * problem in the incoming dialog and in the ended notice) carry it as `data-tid`, and have
 * `data-testid` only while shown, so tests never find two elements for one id.
 * @param {HTMLElement} el
 * @param {boolean} visible
 */
export function show(el, visible) {
  el.hidden = !visible;
  const id = el.dataset.tid;
  if (id) {
    if (visible) el.setAttribute('data-testid', id);
    else el.removeAttribute('data-testid');
  }
  // Hiding a part hides what is inside it too; showing it again is its render's business.
  if (!visible) for (const inner of el.querySelectorAll('[data-tid]')) inner.removeAttribute('data-testid');
}

/**
 * Says something in a live region. The text is cleared and set again so the same words
 * twice in a row are still announced.
 * @param {HTMLElement} region
 * @param {string} text
 */
export function announce(region, text) {
  region.textContent = '';
  // A separate task, so assistive technology sees a change.
  setTimeout(() => { region.textContent = text; }, 50);
}
