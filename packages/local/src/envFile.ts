import { rename, writeFile } from "node:fs/promises";

/**
 * `KEY=value` lines that both `set -a; . FILE; set +a` and dotenv readers accept: values
 * outside a conservative safe set are single-quoted (POSIX: no escapes inside, so a `'`
 * is written as `'\''`).
 */
export function formatEnvFile(env: Readonly<Record<string, string>>, header?: string): string {
  const lines = Object.entries(env).map(([key, value]) => `${key}=${quoteEnvValue(value)}`);
  const comment = header ? `${header.replace(/^/gm, "# ")}\n` : "";
  return `${comment}${lines.join("\n")}\n`;
}

export function quoteEnvValue(value: string): string {
  if (/^[A-Za-z0-9_./:@%+,=-]*$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Written to a temporary name and renamed, so a process polling for the file never reads half of it. */
export async function writeEnvFile(
  path: string,
  env: Readonly<Record<string, string>>,
  header?: string,
): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, formatEnvFile(env, header), { mode: 0o600 });
  await rename(temporary, path);
}

/** Reads what {@link formatEnvFile} writes (comments, bare and single-quoted values). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match?.[1]) continue;
    const raw = (match[2] ?? "").trim();
    env[match[1]] = raw.startsWith("'") ? raw.slice(1, -1).replaceAll(`'\\''`, "'") : raw;
  }
  return env;
}
