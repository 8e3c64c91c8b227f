/**
 * A bar chart in plain SVG: a handful of bars needs no charting library, and SVG keeps each bar
 * a real element with its value in a <title>, readable by screen readers and by the browser tests.
 * Values may be negative (bars hang below the zero line) or null: not known, drawn as a dash on
 * the zero line and titled with `unknownLabel`.
 */
export interface Bar {
  label: string;
  value: number | null;
}

/** A tick's text: a date loses its year (`12-01`), any other long label is shortened. */
const tickText = (label: string) => (/^\d{4}-\d{2}-\d{2}$/.test(label) ? label.slice(5) : label.length > 14 ? `${label.slice(0, 13)}…` : label);

export function BarChart(props: {
  bars: Bar[];
  format: (value: number) => string;
  title: string;
  height?: number;
  maxLabel?: string;
  minLabel?: string;
  /** What an unknown (null) bar's title says after its label; '—' by default. */
  unknownLabel?: string;
}) {
  const height = props.height ?? 180;
  const known = props.bars.map((b) => b.value).filter((v): v is number => v !== null);
  const max = Math.max(0, ...known);
  const min = Math.min(0, ...known);
  const width = Math.max(320, props.bars.length * 28);
  const plot = height - 40;
  // Bars span from `top` to the axis at plot + 4; zero sits where the range puts it (the axis when nothing is negative).
  const span = plot - 16;
  const top = plot + 4 - span;
  const zero = max - min > 0 ? top + (max / (max - min)) * span : plot + 4;
  const scale = max - min > 0 ? span / (max - min) : 0;
  const step = width / Math.max(1, props.bars.length);
  const barWidth = Math.max(4, Math.min(40, step * 0.7));
  const labelEvery = Math.ceil(props.bars.length / 12);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.title} preserveAspectRatio="none">
        <line x1="0" x2={width} y1={zero} y2={zero} class="axis" />
        {props.bars.map((bar, i) => {
          const x = i * step + (step - barWidth) / 2;
          const value = bar.value;
          const h = value === null ? 0 : Math.abs(value) * scale;
          const shown = value === null ? 0 : Math.max(h, value !== 0 ? 1 : 0);
          return (
            <g
              key={bar.label}
              class={`bar${value === null ? ' unknown' : value < 0 ? ' negative' : ''}`}
              data-label={bar.label}
              data-value={value ?? undefined}
              data-unknown={value === null ? 'true' : undefined}
            >
              {value === null ? (
                <line x1={x} x2={x + barWidth} y1={zero} y2={zero} class="unknown-mark">
                  <title>{`${bar.label}: ${props.unknownLabel ?? '—'}`}</title>
                </line>
              ) : (
                <rect x={x} y={value < 0 ? zero : zero - shown} width={barWidth} height={shown} rx="2">
                  <title>{`${bar.label}: ${props.format(value)}`}</title>
                </rect>
              )}
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
        {min < 0 ? ` · ${props.minLabel ?? 'min'} ${props.format(min)}` : null}
      </figcaption>
    </figure>
  );
}
