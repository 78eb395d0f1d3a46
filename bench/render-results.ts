/**
 * Renders a benchmark run's results again (after a change to the report, or for a run's JSON
 * kept elsewhere): the Markdown (issue 15's targets beside `--previous`, the stores, every
 * scenario) and the charts, next to the JSON, named by `--prefix`.
 *
 *   node --import tsx bench/render-results.ts bench/results/latest.json [--previous old.json] [--prefix latest]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderScenarioCharts, renderStores, renderTargets } from './issue15-report.js';
import { renderChart, renderMarkdown } from './report.js';
import type { BenchResult } from './run-benchmark.js';

/** Writes `<prefix>.md`, `<prefix>.svg` and `<prefix>-<scenario>.svg` into `dir`; returns the Markdown. */
export async function writeReport(
  dir: string,
  prefix: string,
  result: BenchResult,
  previous: BenchResult | undefined,
): Promise<string> {
  const markdown = `${renderTargets(result, previous)}\n\n${renderStores(result)}\n\n${renderMarkdown(result)}`;
  await writeFile(join(dir, `${prefix}.md`), `${markdown}\n`);
  await writeFile(join(dir, `${prefix}.svg`), renderChart(result));
  for (const [name, svg] of renderScenarioCharts(result))
    await writeFile(join(dir, `${prefix}-${name}.svg`), svg);
  return markdown;
}

const isMain = process.argv[1]?.endsWith('render-results.ts') === true;
if (isMain) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { previous: { type: 'string' }, prefix: { type: 'string', default: 'latest' } },
  });
  const file = positionals[0];
  if (file === undefined) {
    process.stderr.write(
      'usage: bench/render-results.ts <results.json> [--previous <json>] [--prefix latest]\n',
    );
    process.exit(2);
  }
  const read = async (f: string) => JSON.parse(await readFile(f, 'utf8')) as BenchResult;
  const previous = values.previous === undefined ? undefined : await read(values.previous);
  await writeReport(dirname(file), values.prefix, await read(file), previous);
}
