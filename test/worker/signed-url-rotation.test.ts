// Rotating OUTPUT_URL_KEYS with links in flight: each signed URL names its key; the newest key
// signs, every listed key verifies, so a link minted before the rotation keeps working until it
// expires as long as its key stays listed, and stops working once the key is removed.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { keysOf } from "../../src/lib/key-list.ts";
import { signedOutputUrl, verifyOutputSignature } from "../../src/outputs/signed-url.ts";
import { sha256, toHex } from "../../src/protocol/encoding.ts";
import { createTenant, expectProblem, submitOk, userHeaders } from "../support/worker-helpers.ts";
import { eventFor, outputDescriptor, sendEvent, uploadOutput, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();
const U1 = env.OUTPUT_URL_KEYS;
const U2 = `u2:${btoa("the next output url key 01234567")}`;
const STEPS = { before: U1, overlap: `${U2},${U1}`, after: U2 };

/** A succeeded job with one PNG output; its owner's key. */
async function jobWithOutput() {
  const t = await createTenant();
  const host = await liveHost();
  const job = await submitOk(t.key, "alice");
  const [d] = await waitForDispatches(host, 1);
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9]);
  if ((await uploadOutput(host, d!, "out.png", png)).status !== 201) throw new Error("upload refused");
  const done = await sendEvent(host, eventFor(host, d!, "job.succeeded", { outputs: [outputDescriptor("out.png", png, toHex(await sha256(png)))] }));
  if (done.status !== 200) throw new Error(`succeed: ${done.status}`);
  return { t, job, png };
}

const app = createApp();
const get = (url: string, keys: string, headers: Record<string, string> = {}) => app.request(url, { headers }, { ...env, OUTPUT_URL_KEYS: keys });
const outputUrl = async (keys: string, key: string, jobId: string) =>
  ((await (await get(`https://api.test/v1/jobs/${jobId}`, keys, userHeaders(key, "alice"))).json()) as { outputs: { url: string }[] }).outputs[0]!.url;

describe("output URL key rotation", () => {
  it("links name their key; an old link works while its key is listed and stops once it is removed", async ({ expect }) => {
    const { t, job, png } = await jobWithOutput();
    const old = await outputUrl(STEPS.before, t.key, job.id);
    expect(new URL(old).searchParams.get("signature")).toMatch(/^u1\.[A-Za-z0-9_-]{43}$/);
    const overlapUrl = await outputUrl(STEPS.overlap, t.key, job.id);
    expect(new URL(overlapUrl).searchParams.get("signature")).toMatch(/^u2\./);

    const ok = await get(old, STEPS.overlap);
    expect(ok.status).toBe(200);
    expect(new Uint8Array(await ok.arrayBuffer())).toEqual(png);
    await expectProblem(await get(old, STEPS.after), 401, "unauthenticated");
    expect((await get(overlapUrl, STEPS.after)).status).toBe(200);
    // The key id is part of what is checked: a u1 MAC relabelled as u2 is refused.
    await expectProblem(await get(old.replace("signature=u1.", "signature=u2."), STEPS.overlap), 401, "unauthenticated");
  });

  it("no fetch fails across the rotation: links minted at each step are used at the next", async ({ expect }) => {
    const { t, job } = await jobWithOutput();
    const failures: string[] = [];
    let inFlight: string[] = [];
    // Per step: clients use links minted at the previous step (in flight over the change), then
    // fetch fresh ones. u1 leaves only once no link it signed can be in flight.
    for (const step of [STEPS.before, STEPS.overlap, STEPS.overlap, STEPS.after]) {
      for (const url of inFlight) {
        const res = await get(url, step);
        if (res.status !== 200)
          failures.push(
            `${res.status} at ${step
              .split(",")
              .map((k) => k.split(":")[0])
              .join(",")}`,
          );
        await res.arrayBuffer();
      }
      inFlight = [];
      for (let i = 0; i < 5; i++) inFlight.push(await outputUrl(step, t.key, job.id));
    }
    expect(failures).toEqual([]);
    expect(inFlight.every((u) => new URL(u).searchParams.get("signature")!.startsWith("u2."))).toBe(true);
  });

  it("verification checks key, expiry and MAC", async ({ expect }) => {
    const keys = keysOf(STEPS.overlap);
    const now = Date.UTC(2030, 0, 1);
    const url = new URL(await signedOutputUrl("https://x", "job_1", "a.png", 60, keys, now));
    const [expires, signature] = [url.searchParams.get("expires")!, url.searchParams.get("signature")!];
    expect(await verifyOutputSignature("job_1", "a.png", expires, signature, keys, now)).toBe(true);
    expect(await verifyOutputSignature("job_1", "a.png", expires, signature, keysOf(U2), now)).toBe(true);
    expect(await verifyOutputSignature("job_1", "a.png", expires, signature, keysOf(U1), now)).toBe(false);
    expect(await verifyOutputSignature("job_1", "b.png", expires, signature, keys, now)).toBe(false);
    expect(await verifyOutputSignature("job_1", "a.png", expires, signature, keys, now + 61_000)).toBe(false);
  });
});
