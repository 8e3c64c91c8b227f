/**
 * A bar chart in plain SVG: a handful of bars needs no charting library, and SVG keeps each bar
 * a real element with its value in a <title>, readable by screen readers and by the browser tests.
 */
export interface Bar {
  label: string;
  value: number;
}

/** A tick's text: a date loses its year (`12-01`), any other long label is shortened. */
const tickText = (label: string) => (/^\d{4}-\d{2}-\d{2}$/.test(label) ? label.slice(5) : label.length > 14 ? `${label.slice(0, 13)}…` : label);

export function BarChart(props: { bars: Bar[]; format: (value: number) => string; title: string; height?: number; maxLabel?: string }) {
  const height = props.height ?? 180;
  const max = Math.max(0, ...props.bars.map((b) => b.value));
  const width = Math.max(320, props.bars.length * 28);
  const plot = height - 40;
  const step = width / Math.max(1, props.bars.length);
  const barWidth = Math.max(4, Math.min(40, step * 0.7));
  const labelEvery = Math.ceil(props.bars.length / 12);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.title} preserveAspectRatio="none">
        <line x1="0" x2={width} y1={plot + 4} y2={plot + 4} class="axis" />
        {props.bars.map((bar, i) => {
          const h = max > 0 ? (bar.value / max) * (plot - 16) : 0;
          const x = i * step + (step - barWidth) / 2;
          return (
            <g key={bar.label} class="bar" data-label={bar.label} data-value={bar.value}>
              <rect x={x} y={plot + 4 - h} width={barWidth} height={Math.max(h, bar.value > 0 ? 1 : 0)} rx="2">
                <title>{`${bar.label}: ${props.format(bar.value)}`}</title>
              </rect>
              {i % labelEvery === 0 ? (
                <text x={x + barWidth / 2} y={height - 8} text-anchor="middle" class="tick">
                  {tickText(bar.label)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {props.title} · {props.maxLabel ?? 'max'} {props.format(max)}
      </figcaption>
    </figure>
  );
}
