import { flagName, SETTINGS, type SettingName, type SettingSpec } from "@compacter/core";

/**
 * The README's settings table, generated from SETTINGS (the one registry), so the two
 * cannot drift apart: test/unit/cli/readmeSettings.test.ts fails when they do and
 * rewrites the README's table with `UPDATE_README=1`.
 */
export const SETTINGS_TABLE_START =
  "<!-- settings-table:start (generated from SETTINGS; UPDATE_README=1 npx vitest run test/unit/cli/readmeSettings.test.ts) -->";
export const SETTINGS_TABLE_END = "<!-- settings-table:end -->";

const UNIT: Record<SettingSpec["kind"], string> = {
  string: "text",
  duration: "duration: `ms` `s` `m` `h` `d`",
  bytes: "bytes: `KiB` `MiB` `GiB` (or `KB` `MB` `GB`)",
  integer: "count",
  offset: "UTC offset `±HH:MM`",
  boolean: "`true` / `false`",
};

const GROUP_TITLE: Record<SettingSpec["group"], string> = {
  resources: "resources",
  layout: "layout",
  windows: "windows",
  compaction: "compaction",
  worker: "worker",
  query: "query",
};

export function settingsMarkdownTable(): string {
  const rows = (Object.keys(SETTINGS) as SettingName[]).map((name) => {
    const spec: SettingSpec = SETTINGS[name];
    const fallback = spec.default === "" ? "(unset)" : `\`${spec.default}\``;
    // A bounded count shows its range (the ZSTD levels); other bounds are in the description.
    const unit =
      spec.kind === "integer" && spec.max !== undefined
        ? `${UNIT[spec.kind]} ${spec.min ?? 0}–${spec.max}`
        : UNIT[spec.kind];
    return `| \`${spec.env}\` | \`${flagName(name)}\` | ${fallback} | ${unit} | ${GROUP_TITLE[spec.group]} | ${escapeCell(spec.description)} |`;
  });
  return [
    "| Environment variable | Flag | Default | Unit | Group | What it does |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** A pipe would end the cell; a `<` would open an HTML tag. */
function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("<", "&lt;");
}
