// What a tenant may read of a job failure: no traceback, no absolute path, no host name or address,
// bounded — whatever a GPU host (the least trusted tier) reported.
import { describe, it } from "vitest";
import { cleanText, MAX_PUBLIC_DETAILS_CHARS, publicFailure } from "../../src/protocol/public-error.ts";

describe("cleanText", () => {
  it.for([
    ["Invalid image file: /srv/private/secret.png", "Invalid image file: secret.png"],
    ["[Errno 2] No such file or directory: '/opt/ComfyUI/input/x.png'", "[Errno 2] No such file or directory: 'x.png'"],
    ["C:\\ComfyUI\\models\\loras\\mine.safetensors not found", "mine.safetensors not found"],
    ["connect to 10.0.0.5:8188 failed", "connect to [address] failed"],
    ["listening on [fe80::1:2:3]:8188 and ::1", "listening on [address]:8188 and [address]"],
    ["ValueError: kaboom", "ValueError: kaboom"],
    ["at 12:30:45 the ratio was 1/2 (./rel/path.png)", "at 12:30:45 the ratio was 1/2 (./rel/path.png)"],
    ["see https://example.com/a/b.png", "see https://example.com/a/b.png"],
  ] as const)("%s", ([input, expected], { expect }) => {
    expect(cleanText(input)).toBe(expected);
  });

  it("hides the host's names wherever they appear", ({ expect }) => {
    expect(cleanText("GPU gpu-a100-7.internal.example out of memory on gpu-a100-7", { hostNames: ["gpu-a100-7.internal.example", "gpu-a100-7"] })).toBe(
      "GPU [host] out of memory on [host]",
    );
  });

  it("bounds very long strings", ({ expect }) => {
    expect(cleanText("x".repeat(50_000)).length).toBeLessThanOrEqual(2_001);
  });
});

describe("publicFailure", () => {
  it("keeps the exception type, the cleaned message, node id and class; drops traceback and current inputs", ({ expect }) => {
    const out = publicFailure({
      code: "execution_error",
      message: "RaiseErrorEmu 2: FileNotFoundError: cannot open /opt/ComfyUI/models/key.pem",
      details: {
        node_id: "2",
        node_type: "RaiseErrorEmu",
        exception_type: "FileNotFoundError",
        exception_message: "cannot open /opt/ComfyUI/models/key.pem",
        traceback: ['  File "/opt/ComfyUI/execution.py", line 496'],
        current_inputs: { image: ["tensor(...)"] },
        current_outputs: ["1"],
      },
    });
    expect(out).toEqual({
      code: "execution_error",
      message: "RaiseErrorEmu 2: FileNotFoundError: cannot open key.pem",
      details: { node_id: "2", node_type: "RaiseErrorEmu", exception_type: "FileNotFoundError", exception_message: "cannot open key.pem" },
    });
  });

  it("cleans ComfyUI's validation errors in place", ({ expect }) => {
    const out = publicFailure({
      code: "invalid_workflow",
      message: "Prompt outputs failed validation",
      details: {
        node_errors: {
          "1": {
            class_type: "LoadImage",
            errors: [{ type: "custom_validation_failed", message: "Custom validation failed for node", details: "image - Invalid image file: /srv/x.png" }],
          },
        },
      },
    });
    expect(JSON.stringify(out.details)).toContain("Invalid image file: x.png");
    expect(JSON.stringify(out.details)).not.toContain("/srv/");
  });

  it("replaces details past the size cap by a summary", ({ expect }) => {
    const out = publicFailure({
      code: "invalid_workflow",
      message: "m",
      details: { node_errors: Object.fromEntries(Array.from({ length: 90 }, (_, i) => [String(i), "y".repeat(1_900)])) },
    });
    expect(out.details).toEqual({ truncated: true, original_chars: expect.any(Number) });
    expect((out.details as { original_chars: number }).original_chars).toBeGreaterThan(MAX_PUBLIC_DETAILS_CHARS);
  });

  it("stops at a bounded depth instead of recursing forever", ({ expect }) => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 10_000; i++) deep = { deep };
    expect(() => publicFailure({ code: "host_error", message: "m", details: deep })).not.toThrow();
  });
});
