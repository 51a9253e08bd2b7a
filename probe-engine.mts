import { readdirSync } from "node:fs";
import { join } from "node:path";

const [, , modPath, sortArg, memArg] = process.argv;
const { createDuckDbEngine } = await import(modPath!);
const root = "/work/main/bench/.cache/default-00e3beeae706/raw";
const raw: any[] = [];
for (const dev of readdirSync(join(root, "BRCB")))
  for (const hour of readdirSync(join(root, "BRCB", dev))) {
    const key = `BRCB/${dev}/${hour}/${hour}.txt.gz`;
    raw.push({ key, eTag: String(raw.length), deviceId: dev, localPath: join(root, key) });
  }
const work = "/tmp/rss/lake";
const { mkdirSync } = await import("node:fs");
mkdirSync(join(work, "out"), { recursive: true });
mkdirSync(join(work, "tmp"), { recursive: true });
const engine = createDuckDbEngine();
const t = performance.now();
const r = await engine.compact({
  partition: { day: "2025-12-12", district: "BRCB" },
  raw,
  lake: [],
  dropSources: [],
  schema: [],
  sort: sortArg === "sort",
  outputDir: join(work, "out"),
  maxFileBytes: 512 * 2 ** 20,
  limits: {
    memoryLimitBytes: Number(memArg) * 2 ** 20,
    threads: 0,
    tempDir: join(work, "tmp"),
    zstdLevel: 3,
  },
});
await engine.close();
console.log(
  JSON.stringify({
    mod: modPath,
    sort: sortArg,
    wallS: ((performance.now() - t) / 1000).toFixed(1),
    rows: r.rowsOut,
    stageMs: r.stageMs,
    rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
