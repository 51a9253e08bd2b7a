/**
 * `npm run bench [-- --size small|default|large] [--scale] [--json] [--runs N] [--out FILE]`
 *
 * Measures the pipeline side by side with the seed's approach and the physical floor, on
 * one generated data set, and writes BENCHMARKS.md (small: bench/out/BENCHMARKS.small.md,
 * so a CI smoke run never overwrites the committed figures). `--size large` (or `--scale`
 * at another size, a quick check of it) runs only the real-volume service day (scale.ts)
 * and rewrites only its section. `--json` prints the whole
 * report to stdout; progress goes to stderr. Nothing here asserts on time.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runBenchmark } from "./benchmark.js";
import { renderMarkdown } from "./markdown.js";
import { runScaleBenchmark } from "./scale.js";
import { renderScaleSection, scaleSectionOf, spliceScaleSection } from "./scaleMarkdown.js";
import { SIZE_NAMES, type SizeName } from "./sizes.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run bench -- [--size small|default|large] [--scale] [--json] [--runs N] [--out FILE]\n`,
  );
  process.exit(2);
}

let values: { size?: string; json?: boolean; scale?: boolean; runs?: string; out?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      size: { type: "string", default: "default" },
      json: { type: "boolean", default: false },
      scale: { type: "boolean", default: false },
      runs: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }));
} catch (error) {
  usage((error as Error).message);
}
if (values.help) {
  process.stdout.write(
    "usage: npm run bench -- [--size small|default|large] [--scale] [--json] [--runs N] [--out FILE]\n",
  );
  process.exit(0);
}
const size = values.size as SizeName;
if (!SIZE_NAMES.includes(size)) usage(`--size must be one of ${SIZE_NAMES.join(", ")}`);
const runs = values.runs === undefined ? undefined : Number(values.runs);
if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1)) usage("--runs must be a whole number ≥ 1");

const argv = process.argv.slice(2).join(" ");
const command = `npm run bench${argv ? ` -- ${argv}` : ""}`;
const log = (line: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const out =
  values.out ??
  (size === "small" ? join(root, "bench", "out", "BENCHMARKS.small.md") : join(root, "BENCHMARKS.md"));
const previous = await readFile(out, "utf8").catch(() => "");
await mkdir(dirname(resolve(out)), { recursive: true });

if (size === "large" || values.scale) {
  // The real volume runs only the service day (see scale.ts) and replaces its own section.
  const report = await runScaleBenchmark({ size, log, command });
  await writeFile(out, spliceScaleSection(previous, renderScaleSection(report)));
  process.stderr.write(`[bench] wrote the real-volume section of ${out}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  const report = await runBenchmark({ size, ...(runs === undefined ? {} : { runs }), log, command });
  const scale = scaleSectionOf(previous);
  const markdown = renderMarkdown(report);
  await writeFile(out, scale ? spliceScaleSection(markdown, scale) : markdown);
  process.stderr.write(`[bench] wrote ${out}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const missed = report.targets.filter((t) => !t.met).length;
  process.stderr.write(`[bench] targets: ${report.targets.length - missed} met, ${missed} missed\n`);
}
