// ComfyUI's Origin/Host check (403 for a foreign Origin on a loopback Host) and the CORS mode
// that replaces it.
import { request as httpRequest } from "node:http";
import { describe, it } from "vitest";
import { startTestEmulator } from "./harness.ts";

function call(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/prompt`, { method, headers, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

describe("origin check", () => {
  it("refuses a foreign Origin on a loopback Host and lets matching or absent Origins through", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const host = `127.0.0.1:${emulator.port}`;
    expect((await call(emulator.url, "GET", { Host: host, Origin: "https://evil.example" })).status).toBe(403);
    expect((await call(emulator.url, "GET", { Host: host, Origin: "http://127.0.0.1:1" })).status).toBe(403);
    expect((await call(emulator.url, "GET", { Host: host, Origin: `http://${host}` })).status).toBe(200);
    expect((await call(emulator.url, "GET", { Host: host, Origin: "http://127.0.0.1" })).status).toBe(200); // no port: host names compared
    expect((await call(emulator.url, "GET", { Host: host, Origin: "null" })).status).toBe(200);
    expect((await call(emulator.url, "GET", { Host: host })).status).toBe(200);
    expect((await call(emulator.url, "GET", { Host: "comfy.internal", Origin: "https://evil.example" })).status).toBe(200); // non-loopback Host: no check
  });

  it("with --enable-cors-header adds CORS headers, answers OPTIONS and skips the check", async ({ expect }) => {
    const emulator = await startTestEmulator({ enableCorsHeader: "*" });
    const host = `127.0.0.1:${emulator.port}`;
    const res = await call(emulator.url, "GET", { Host: host, Origin: "https://evil.example" });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe("*");
    expect(res.headers["access-control-allow-methods"]).toBe("POST, GET, DELETE, PUT, OPTIONS");
    expect((await call(emulator.url, "OPTIONS", { Host: host })).status).toBe(200);
  });
});
