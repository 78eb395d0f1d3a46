/** A small line chart of a series, drawn as SVG: no chart library. */

const W = 200;
const H = 48;

export function SparkChart({
  points,
  label,
}: {
  readonly points: readonly number[];
  readonly label: string;
}) {
  const max = Math.max(1e-9, ...points);
  const min = Math.min(0, ...points);
  const step = points.length > 1 ? W / (points.length - 1) : 0;
  const y = (v: number) => H - 2 - ((v - min) / (max - min || 1)) * (H - 4);
  const line = points
    .map((v, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${y(v).toFixed(1)}`)
    .join(' ');
  return (
    <svg class="spark" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <line x1="0" y1={H - 1} x2={W} y2={H - 1} class="axis" />
      {points.length > 1 && <path d={`${line} L${W},${H} L0,${H} Z`} class="area" />}
      {points.length > 1 && <path d={line} class="line" />}
    </svg>
  );
}
