import type { AddressInfo } from "node:net";
import dynalite from "dynalite";
import { portInUse } from "./errors.js";

export interface DynamoServer {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface DynamoServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Keep tables on disk (LevelDB) across restarts; in memory when omitted. */
  readonly dataDir?: string;
}

/**
 * dynalite in-process. Tables become ACTIVE at once (the default keeps them CREATING
 * for 500 ms, which only slows tests down).
 */
export async function startDynamoServer(options: DynamoServerOptions): Promise<DynamoServer> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir ? { path: options.dataDir } : {}),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    throw portInUse(error, "DynamoDB", options.host, options.port);
  }
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${options.host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        // close() waits for keep-alive sockets; clients may still hold some.
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
