import { pino, stdSerializers } from "pino";

/**
 * Structured logs: one JSON object per line on stderr, so stdout stays free for command
 * output (and, on Lambda and `compacter run`, for EMF metric lines). Child loggers carry
 * context (partition, key, generation; on Lambda the request id and cold start) onto
 * every line.
 *
 * The implementation is pino, the same in every runtime (Lambda, `compacter run`, the
 * CLI), so a line has one shape wherever it was written; the `Logger` interface below is
 * all the rest of the code sees. Errors in any field are written with their stack and
 * their `cause` chain (pino's errWithCause), so an unexpected TypeError in CloudWatch
 * points at its line. A terminal gets the same lines made readable by the CLI (a sink).
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

/** Receives each line as written (JSON, no trailing newline). */
export type LogSink = (line: string) => void;

export function createLogger(options: { level?: string; fields?: LogFields; sink?: LogSink } = {}): Logger {
  const level = options.level ?? "info";
  levelIndex(level);
  const { sink } = options;
  const destination = sink
    ? { write: (chunk: string) => sink(chunk.endsWith("\n") ? chunk.slice(0, -1) : chunk) }
    : // Synchronous: a Lambda frozen or a process killed right after a line still has it written.
      pino.destination({ dest: 2, sync: true });
  const root = pino(
    {
      level,
      // No pid/hostname: the worker id (host/pid) is a field where it matters.
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return wrap(options.fields ? root.child(serialise(options.fields)) : root);
}

export const silentLogger: Logger = createLogger({ level: "silent" });

function wrap(logger: pino.Logger): Logger {
  return {
    debug: (message, fields) => logger.debug(serialise(fields), message),
    info: (message, fields) => logger.info(serialise(fields), message),
    warn: (message, fields) => logger.warn(serialise(fields), message),
    error: (message, fields) => logger.error(serialise(fields), message),
    child: (fields) => wrap(logger.child(serialise(fields))),
  };
}

function levelIndex(level: string): number {
  const index = LOG_LEVELS.indexOf(level as LogLevel);
  if (index < 0) throw new RangeError(`log level '${level}' is not one of ${LOG_LEVELS.join(", ")}`);
  return index;
}

/** Errors don't JSON.stringify: any field holding one gets its type, message, stack and cause chain. */
function serialise(fields: LogFields | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!fields) return out;
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? stdSerializers.errWithCause(value) : value;
  }
  return out;
}
