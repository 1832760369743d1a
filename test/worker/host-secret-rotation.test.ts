// Rotating a GPU host's secret (POST /v1/admin/hosts/{id}/secret): the new secret is shown once;
// old and new are both accepted for the overlap, so the host switches (a restart with the new
// HOST_SECRET) without a refused request; after the overlap only the new one is. The clock is
// moved with vi.setSystemTime (the Worker, the Dispatcher and the test share one isolate).
import { env } from "cloudflare:workers";
import { afterEach, describe, it, vi } from "vitest";
import { signHostPayload } from "../../src/protocol/host-signing.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { adminCall, call, expectProblem, json } from "../support/worker-helpers.ts";
import { heartbeat, heartbeatMessage, registerHost, type TestHost, useTestHosts } from "../support/worker-hosts.ts";

const { track } = useTestHosts();
afterEach(() => {
  vi.useRealTimers();
});

const rotate = (id: string, body?: unknown) => adminCall(`/v1/admin/hosts/${id}/secret`, body === undefined ? { method: "POST" } : json(body));

interface Rotated {
  host_id: string;
  secret: string;
  previous_secret_expires_at: string;
}

/** A heartbeat signed with every secret in `secrets` (gpu-backend's HOST_SECRET plus HOST_SECRET_PREVIOUS). */
async function heartbeatSignedBy(host: TestHost, secrets: string[]): Promise<Response> {
  const text = JSON.stringify(heartbeatMessage(host));
  return call(edgePaths.heartbeat(host.id), {
    method: "POST",
    body: text,
    headers: { ...(await signHostPayload(secrets, text)), "Content-Type": "application/json" },
  });
}

describe("host secret rotation", () => {
  it("accepts old and new during the overlap and only the new one after it", async ({ expect }) => {
    const start = Date.now();
    vi.setSystemTime(start);
    const host = track(await registerHost());
    const res = await rotate(host.id, { overlap_seconds: 120 });
    expect(res.status).toBe(201);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = (await res.json()) as Rotated;
    expect(body).toEqual({ host_id: host.id, secret: expect.stringMatching(/^whsec_/), previous_secret_expires_at: new Date(start + 120_000).toISOString() });
    expect(body.secret).not.toBe(host.secret);
    const renewed = { ...host, secret: body.secret };

    expect((await heartbeat(host)).status).toBe(200);
    expect((await heartbeat(renewed)).status).toBe(200);
    expect((await heartbeatSignedBy(host, [body.secret, host.secret])).status).toBe(200);

    vi.setSystemTime(start + 119_000);
    expect((await heartbeat(host)).status).toBe(200);
    vi.setSystemTime(start + 121_000);
    await expectProblem(await heartbeat(host), 401, "unauthenticated");
    expect((await heartbeat(renewed)).status).toBe(200);
    // After the overlap the old secret is forgotten by the next sweep step, not only ignored.
    await adminCall("/v1/admin/encryption/reencrypt", json({ limit: 1 }));
    const row = await env.DB.prepare("SELECT previous_secret_ciphertext AS p FROM gpu_hosts WHERE id = ?").bind(host.id).first<{ p: string | null }>();
    expect(row?.p).toBeNull();
  });

  it("keeps every request accepted while the host switches: heartbeats before, during and after the rotation", async ({ expect }) => {
    const host = track(await registerHost());
    let signing = [host.secret];
    const statuses: number[] = [];
    let rotated: Rotated | undefined;
    for (let i = 0; i < 24; i++) {
      if (i === 8) {
        // The operator rotates; the host has not restarted yet.
        rotated = (await (await rotate(host.id)).json()) as Rotated;
      }
      // The host restarts with HOST_SECRET=new and HOST_SECRET_PREVIOUS=old, then with the new one only.
      if (i === 12) signing = [rotated!.secret, host.secret];
      if (i === 16) signing = [rotated!.secret];
      statuses.push((await heartbeatSignedBy(host, signing)).status);
    }
    expect(statuses).toEqual(Array(24).fill(200));
    // The default overlap is HOST_SECRET_OVERLAP_SECONDS (a day).
    expect(Date.parse(rotated!.previous_secret_expires_at) - Date.now()).toBeGreaterThan(86_000_000);
  });

  it("shows the secret once: the host list never holds it, and a second rotation issues another and ends the first overlap", async ({ expect }) => {
    const host = track(await registerHost());
    const first = (await (await rotate(host.id)).json()) as Rotated;
    const list = await (await adminCall("/v1/admin/hosts")).text();
    expect(list).not.toContain(first.secret);
    expect(list).not.toContain(host.secret);
    const listed = (JSON.parse(list) as { data: { id: string; previous_secret_expires_at: string | null }[] }).data.find((h) => h.id === host.id);
    expect(listed?.previous_secret_expires_at).toBe(first.previous_secret_expires_at);

    const second = (await (await rotate(host.id, { overlap_seconds: 60 })).json()) as Rotated;
    expect(second.secret).not.toBe(first.secret);
    expect((await heartbeat({ ...host, secret: second.secret })).status).toBe(200);
    expect((await heartbeat({ ...host, secret: first.secret })).status).toBe(200);
    await expectProblem(await heartbeat(host), 401, "unauthenticated");
  });

  it("refuses an unknown host with 404 and an out-of-range overlap with a problem that says the bounds", async ({ expect }) => {
    const missing = await expectProblem(await rotate("gpu-no-such-host"), 404, "not-found");
    expect(missing.detail).toContain("gpu-no-such-host");
    const host = track(await registerHost());
    const short = await expectProblem(await rotate(host.id, { overlap_seconds: 10 }), 422, "validation-failed");
    expect(short.detail).toContain("at least 60");
    const long = await expectProblem(await rotate(host.id, { overlap_seconds: 30 * 86_400 }), 422, "validation-failed");
    expect(long.detail).toContain("at most 604800");
    await expectProblem(await rotate(host.id, { overlap: 60 }), 422, "validation-failed");
    // Nothing changed: the original secret still works alone.
    expect((await heartbeat(host)).status).toBe(200);
  });
});
