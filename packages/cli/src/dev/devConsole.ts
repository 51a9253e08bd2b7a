import type { AwsClients } from "@compacter/aws";
import type { CompacterConfig } from "@compacter/core";
import { DEFAULT_UI_PORT } from "../commands/ui.js";
import { type RunningConsole, startConsole } from "../ui/consoleServer.js";

/**
 * The ops console inside `compacter dev`, on the stack's own clients: on the console's
 * usual port when it is free, else on any free port (a second dev, or a `compacter ui`
 * already running, must not stop the stack from starting). An explicit port must be free.
 */
export async function startDevConsole(input: {
  readonly config: CompacterConfig;
  readonly clients: AwsClients;
  readonly port?: number;
}): Promise<RunningConsole> {
  const start = (port: number) =>
    startConsole({
      config: input.config,
      clients: input.clients,
      port,
      log: (line) => process.stderr.write(`${line}\n`),
    });
  if (input.port !== undefined) return start(input.port);
  try {
    return await start(DEFAULT_UI_PORT);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    return start(0);
  }
}
