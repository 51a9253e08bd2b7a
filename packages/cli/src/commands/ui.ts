import { type Command, InvalidArgumentError } from "commander";
import { UsageError } from "../errors.js";
import { addSettingFlags, configFromFlags } from "../settingsFlags.js";

/** The console's port unless --port says otherwise (`compacter dev` falls back to a free one). */
export const DEFAULT_UI_PORT = 4180;

interface UiFlags extends Record<string, unknown> {
  readonly port: number;
  readonly open?: boolean;
  readonly tiles?: string;
}

/**
 * `compacter ui`: a local web console over the same manifest, queues and lake as the other
 * commands — the health grid, a unit's day on a map and charts, and a SQL box. Read-only
 * except the retry button. Registration only: the server loads when the command runs.
 */
export function registerUi(program: Command): Command {
  const command = program
    .command("ui")
    .description(
      "Serve the ops console on http://127.0.0.1:PORT (loopback only; nothing leaves the machine): a day × " +
        "district health grid with partition history, problems and retry, a unit's day (GPS track, sensor " +
        "charts, rows) and a SQL box over `telemetry`. Uses the same settings as the other commands. " +
        "Runs until Ctrl-C.",
    )
    .option(
      "--port <n>",
      `port on 127.0.0.1 (0: a free port; default ${DEFAULT_UI_PORT})`,
      parsePort,
      DEFAULT_UI_PORT,
    )
    .option("--open", "open the console in the default browser")
    .option(
      "--tiles <url>",
      "map background tiles, a URL template such as https://tile.openstreetmap.org/{z}/{x}/{y}.png " +
        "(default: none — the track is drawn on a plain projection, and no request leaves the machine)",
    )
    .action(async (flags: UiFlags) => {
      const config = configFromFlags(flags);
      const [{ createAwsClients }, { startConsole }, { shutdownSignal, note }] = await Promise.all([
        import("@compacter/aws"),
        import("../ui/consoleServer.js"),
        import("../dev/shutdown.js"),
      ]);
      const clients = createAwsClients();
      const shutdown = shutdownSignal();
      try {
        const running = await startConsole({
          config,
          clients,
          port: flags.port,
          ...(flags.tiles ? { tiles: flags.tiles } : {}),
          log: (line) => process.stderr.write(`${line}\n`),
        }).catch((error: NodeJS.ErrnoException) => {
          if (error.code === "EADDRINUSE") {
            throw new UsageError(`port ${flags.port} is in use: pass --port N (0 picks a free one)`);
          }
          throw error;
        });
        process.stdout.write(`${running.url}\n`);
        note(`console at ${running.url} (loopback only); Ctrl-C stops it`);
        if (flags.open) openInBrowser(running.url);
        await new Promise<void>((resolve) =>
          shutdown.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        await running.close();
      } finally {
        shutdown.dispose();
        clients.destroy();
      }
    });
  return addSettingFlags(command, [
    "manifestTable",
    "lakeBucket",
    "ingestQueueUrl",
    "ingestDlqUrl",
    "compactionQueueUrl",
    "compactionDlqUrl",
    "rawPrefix",
    "keyTimeZone",
    "partitionTimeZone",
    "tempDir",
    "cacheDir",
    "memoryLimitBytes",
    "threads",
    "downloadConcurrency",
  ]);
}

/** The desktop's own opener; a failure only costs the convenience (the URL is printed). */
function openInBrowser(url: string): void {
  void import("node:child_process").then(({ spawn }) => {
    const command =
      process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
    const child = spawn(command, [url], { stdio: "ignore", detached: true });
    child.on("error", () => process.stderr.write(`compacter ui: could not open a browser; go to ${url}\n`));
    child.unref();
  });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError("expected a port number (0–65535)");
  return port;
}
