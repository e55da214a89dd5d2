const SVG = 'http://www.w3.org/2000/svg';

/** A rate history as a small line, with its numbers in the label for screen readers. */
export function sparkline(values: number[], label: string, width = 120, height = 24): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('role', 'img');
  svg.setAttribute('class', 'sparkline');
  svg.setAttribute('aria-label', label);
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`);
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points.length === 1 ? `0,${points[0]!.split(',')[1]} ${width},${points[0]!.split(',')[1]}` : points.join(' '));
  svg.appendChild(line);
  return svg;
}
