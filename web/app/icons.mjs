// Inline stroke icons (24×24, currentColor), drawn for Duet. Icons are decoration: every
// control that has one also has a name (visible text or aria-label), so they are aria-hidden.

const PHONE = 'M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2';
const VIDEO = 'M15 10l4.55-2.28A1 1 0 0 1 21 8.62v6.76a1 1 0 0 1-1.45.9L15 14M3 8a2 2 0 0 1 2-2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z';
const MIC = 'M9 5a3 3 0 0 1 6 0v5a3 3 0 0 1-6 0zM5 10a7 7 0 0 0 14 0M8 21h8M12 17v4';
const SLASH = 'M3 3l18 18';

/** @type {Record<string, {d: string, transform?: string}>} */
const ICONS = {
  phone: { d: PHONE },
  video: { d: VIDEO },
  mic: { d: MIC },
  micOff: { d: `${MIC}${SLASH}` },
  videoOff: { d: `${VIDEO}${SLASH}` },
  hangUp: { d: PHONE, transform: 'rotate(135 12 12)' },
  outgoing: { d: 'M7 17L17 7M8 7h9v9' },
  incoming: { d: 'M17 7L7 17M16 17H7V8' },
  missed: { d: 'M3 7l6 6 4-4 8 8M21 11v6h-6' },
  close: { d: 'M18 6L6 18M6 6l12 12' },
  check: { d: 'M5 12l5 5L20 7' },
  plus: { d: 'M12 5v14M5 12h14' },
  screen: { d: 'M3 5a1 1 0 0 1 1-1h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1zM8 20h8M12 16v4' },
};

const NS = 'http://www.w3.org/2000/svg';

/**
 * @param {keyof typeof ICONS | string} name
 * @param {string} [className]
 * @returns {SVGSVGElement}
 */
export function icon(name, className = 'icon') {
  const spec = ICONS[name] ?? ICONS.phone;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', className);
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', spec.d);
  if (spec.transform) path.setAttribute('transform', spec.transform);
  svg.append(path);
  return svg;
}
