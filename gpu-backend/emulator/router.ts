/**
 * A minimal route table with aiohttp's matching rules: `{name}` matches one non-empty path
 * segment (URL-decoded), paths match exactly (no trailing-slash leniency), a known path with
 * the wrong method is 405, anything else 404. Every route is also served under `/api`, as
 * ComfyUI's `add_routes()` registers each one twice.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Runtime } from "./runtime.ts";

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  rt: Runtime;
  /** The request body, limited by `--max-upload-size` (413 beyond it). */
  body(): Promise<Buffer>;
}

export type Handler = (ctx: RouteContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path
      .split("/")
      .map((part) => {
        const m = /^\{(\w+)\}$/.exec(part);
        if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        names.push(m[1] as string);
        return "([^/]+)";
      })
      .join("/");
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** The handler for a request, or the status (404/405) ComfyUI would answer with. */
  match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } | { status: 404 } | { status: 405; allow: string[] } {
    const candidates = [pathname];
    if (pathname.startsWith("/api/")) candidates.push(pathname.slice(4));
    const allowed = new Set<string>();
    const wanted = method === "HEAD" ? "GET" : method;
    for (const candidate of candidates) {
      for (const route of this.routes) {
        const m = route.pattern.exec(candidate);
        if (!m) continue;
        if (route.method !== wanted) {
          allowed.add(route.method);
          continue;
        }
        const params: Record<string, string> = {};
        route.names.forEach((name, i) => {
          params[name] = decodeURIComponent(m[i + 1] as string);
        });
        return { handler: route.handler, params };
      }
    }
    return allowed.size > 0 ? { status: 405, allow: [...allowed] } : { status: 404 };
  }
}
