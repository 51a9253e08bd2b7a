import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AttemptWorkspace, type ScratchSpace, workspaceLayout } from "@compacter/core";

/** Attempts' scratch directories on the local disk, under `tempDir` (the OS temp dir when unset). */
export class LocalScratchSpace implements ScratchSpace {
  private readonly baseDir: string;

  constructor(tempDir: string) {
    this.baseDir = tempDir || join(tmpdir(), "compacter");
  }

  async create(attemptId: string): Promise<AttemptWorkspace> {
    const workspace = workspaceLayout(this.baseDir, attemptId);
    await Promise.all(
      [workspace.rawDir, workspace.lakeDir, workspace.outDir].map((dir) => mkdir(dir, { recursive: true })),
    );
    return workspace;
  }

  async remove(workspace: AttemptWorkspace): Promise<void> {
    await rm(workspace.workDir, { recursive: true, force: true });
  }
}
