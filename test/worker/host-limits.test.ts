// GPU hosts are the least trusted tier: what they send is bounded before it is believed, and what
// they report about a failure reaches the tenant only cleaned.
import { describe, it } from "vitest";
import { edgePaths } from "../../src/protocol/paths.ts";
import { call, createTenant, expectProblem, submitOk, userHeaders } from "../support/worker-helpers.ts";
import { eventFor, heartbeat, postSigned, sendEvent, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { liveHost } = useTestHosts();

describe("host messages", () => {
  it("a heartbeat or event over 512 KiB is a 413, even when validly signed", async ({ expect }) => {
    const host = await liveHost();
    const huge = { type: "host.heartbeat", host_id: host.id, padding: "x".repeat(600 * 1024) };
    const res = await postSigned(host, edgePaths.heartbeat(host.id), huge);
    const body = await expectProblem(res, 413, "payload-too-large");
    expect(body.detail).toMatch(/Host messages are limited/);
    expect((await heartbeat(host)).status).toBe(200);
  });

  it("a failure's details reach the tenant without traceback, paths or the host's name", async ({ expect }) => {
    const t = await createTenant();
    const host = await liveHost();
    const job = await submitOk(t.key, "u");
    const [d] = await waitForDispatches(host, 1);
    const error = {
      code: "execution_error",
      message: `Boom at /opt/ComfyUI/nodes.py on ${host.id}`,
      details: {
        node_id: "2",
        node_type: "X",
        exception_type: "OSError",
        exception_message: "cannot read /etc/shadow from 10.1.2.3",
        traceback: ["File /opt/ComfyUI/x.py"],
        current_inputs: { a: 1 },
      },
    };
    expect((await sendEvent(host, eventFor(host, d!, "job.failed", { error }))).status).toBe(200);
    const view = (await (await call(`/v1/jobs/${job.id}`, { headers: userHeaders(t.key, "u") })).json()) as { error: unknown };
    expect(view.error).toEqual({
      code: "execution_error",
      message: "Boom at nodes.py on [host]",
      details: { node_id: "2", node_type: "X", exception_type: "OSError", exception_message: "cannot read shadow from [address]" },
    });
  });
});
