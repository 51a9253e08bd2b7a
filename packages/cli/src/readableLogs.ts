import type { LogSink } from "@compacter/core";
import { prettyFactory } from "pino-pretty";

/**
 * The same log lines, made readable for a person at a terminal (pino-pretty): time, level
 * and message first, context on the same line, an error's stack below it. Anything that
 * is not a JSON line passes through untouched. Pipes and files keep the JSON lines.
 */
export function readableLogSink(write: (text: string) => void = (t) => process.stderr.write(t)): LogSink {
  const pretty = prettyFactory({
    colorize: process.stderr.hasColors?.() ?? false,
    translateTime: "SYS:HH:MM:ss.l",
    singleLine: true,
    // Errors keep their stack on the following lines: singleLine would fold it away.
    errorLikeObjectKeys: ["error", "err"],
  });
  return (line) => write(pretty(line));
}
