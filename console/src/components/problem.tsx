/** An error the way a person can act on it: the API's problem detail, else the error's message. */
import { ApiError } from "comfyui-saas-client";

export function describe(err: unknown): { title: string; detail: string; requestId?: string } {
  if (err instanceof ApiError)
    return {
      title: `${err.problem.title || "Request refused"} (${err.status})`,
      detail: err.problem.detail,
      ...(err.problem.request_id ? { requestId: err.problem.request_id } : {}),
    };
  if (err instanceof TypeError) return { title: "The API did not answer", detail: "Check your connection and try again." };
  return { title: "Something went wrong", detail: err instanceof Error ? err.message : String(err) };
}

export function ProblemView({ error }: { error: unknown }) {
  const d = describe(error);
  return (
    <div class="problem" role="alert">
      <strong>{d.title}</strong>
      {d.detail ? <p>{d.detail}</p> : null}
      {d.requestId ? <p class="muted">Request id: {d.requestId}</p> : null}
    </div>
  );
}
