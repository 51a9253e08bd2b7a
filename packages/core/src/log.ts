/**
 * Structured logs: one JSON object per line on stderr, so stdout stays free for command
 * output. Child loggers carry context (partition, key, generation) onto every line.
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

export function createLogger(options: { level?: string; fields?: LogFields; sink?: LogSink } = {}): Logger {
  const threshold = levelIndex(options.level ?? "info");
  const sink: LogSink = options.sink ?? ((line) => process.stderr.write(`${line}\n`));
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, message: string, fields?: LogFields) => {
      if (levelIndex(level) < threshold) return;
      sink(
        JSON.stringify({
          time: new Date().toISOString(),
          level,
          msg: message,
          ...base,
          ...serialise(fields),
        }),
      );
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.fields ?? {});
}

export const silentLogger: Logger = createLogger({ level: "silent" });

function levelIndex(level: string): number {
  const index = LOG_LEVELS.indexOf(level as LogLevel);
  if (index < 0) throw new RangeError(`log level '${level}' is not one of ${LOG_LEVELS.join(", ")}`);
  return index;
}

/** Errors don't JSON.stringify; give them a readable shape. */
function serialise(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      value instanceof Error
        ? { name: value.name, message: value.message, ...(value.cause ? { cause: String(value.cause) } : {}) }
        : value;
  }
  return out;
}
