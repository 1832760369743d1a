/** What every command gets: the streams, the global flags, a client built from them, its exit code. */
import type { Command } from "commander";
import { ComfyClient } from "../client.ts";
import { resolveConnection } from "./config.ts";
import type { Io } from "./io.ts";

export interface GlobalFlags {
  url?: string;
  key?: string;
  user?: string;
  json?: boolean;
}

export class Context {
  readonly io: Io;
  /** What the process exits with when the command returns normally. */
  exitCode = 0;

  constructor(io: Io) {
    this.io = io;
  }

  flags(cmd: Command): GlobalFlags {
    return cmd.optsWithGlobals<GlobalFlags>();
  }

  json(cmd: Command): boolean {
    return this.flags(cmd).json === true;
  }

  /** A client for the flags and environment; a UsageError when the URL or key is missing. */
  client(cmd: Command): ComfyClient {
    return new ComfyClient(resolveConnection(this.flags(cmd), this.io.env));
  }
}
