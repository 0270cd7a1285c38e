import * as cache from '@actions/cache';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { PersistentData, ToolAdapter } from '../adapter.js';
import { errorMessage } from '../errors.js';
import type { ToolInstaller } from '../install/installer.js';
import type { Logger } from '../logger.js';

interface Entry {
  tool: string;
  key: string;
  dir: string;
  restored: boolean;
}

/**
 * Keeps installed tools across workflow runs with @actions/cache (key: tool, version, OS/arch and,
 * for Python tools, the interpreter version). Cache service trouble is a warning, never a failure:
 * the installer simply downloads and verifies again.
 */
export class ToolCachePersistence {
  private entries: Entry[] = [];
  constructor(private readonly logger: Logger) {}

  static available(): boolean {
    return cache.isFeatureAvailable();
  }

  async restore(adapters: ToolAdapter[], installer: ToolInstaller): Promise<void> {
    const root = process.env['RUNNER_TOOL_CACHE'];
    if (!root) return;
    const entries = await Promise.all(
      adapters.map(async (adapter): Promise<Entry | undefined> => {
        const where = await installer.cacheEntry(adapter.install);
        // An API or a program from PATH: nothing installed, nothing to keep.
        if (!where) return undefined;
        const dir = path.join(root, where.name, where.version);
        const key = `secgate-tool-${where.name}-${where.version}-${where.arch}`;
        let restored = false;
        // Already installed (a self-hosted runner's persistent tool cache): restoring would rewrite
        // the files in place under any job running them, so leave the entry alone.
        if (existsSync(path.join(dir, `${where.arch}.complete`))) return { tool: adapter.id, key, dir, restored };
        try {
          restored = (await cache.restoreCache([dir], key)) !== undefined;
        } catch (error) {
          this.logger.warning(`tool cache restore for ${adapter.id} failed: ${errorMessage(error)}`);
        }
        return { tool: adapter.id, key, dir, restored };
      })
    );
    this.entries = entries.filter((entry): entry is Entry => entry !== undefined);
  }

  private data: (PersistentData & { tool: string; restored: boolean })[] = [];

  /** Restores the tools' persistent data (see ToolAdapter.persistentData); a miss or a cache failure only means a fresh download. */
  async restoreData(adapters: ToolAdapter[], options: Readonly<Record<string, string>>, now: Date): Promise<void> {
    for (const adapter of adapters) {
      for (const entry of adapter.persistentData?.(options, now) ?? []) {
        let restored = false;
        try {
          const hit = await cache.restoreCache([entry.dir], entry.key, entry.restorePrefix ? [entry.restorePrefix] : []);
          restored = hit === entry.key;
          if (hit) this.logger.info(`${adapter.displayName}: restored ${hit} from the Actions cache`);
        } catch (error) {
          this.logger.warning(`cache restore of ${entry.key} for ${adapter.id} failed: ${errorMessage(error)}`);
        }
        this.data.push({ ...entry, tool: adapter.id, restored });
      }
    }
  }

  /** Saves persistent data not restored under its exact key (once per key: a day's DB is kept once). */
  async saveData(ranOk: ReadonlySet<string>): Promise<void> {
    for (const entry of this.data) {
      if (entry.restored || !ranOk.has(entry.tool) || !existsSync(entry.dir)) continue;
      try {
        await cache.saveCache([entry.dir], entry.key);
      } catch (error) {
        this.logger.warning(`cache save of ${entry.key} for ${entry.tool} failed: ${errorMessage(error)}`);
      }
    }
  }

  async save(installedFresh: ReadonlySet<string>): Promise<void> {
    for (const entry of this.entries) {
      if (entry.restored || !installedFresh.has(entry.tool)) continue;
      try {
        await cache.saveCache([entry.dir], entry.key);
      } catch (error) {
        this.logger.warning(`tool cache save for ${entry.tool} failed: ${errorMessage(error)}`);
      }
    }
  }
}
