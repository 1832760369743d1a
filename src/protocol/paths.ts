/** Routes of the two HTTP APIs the protocol uses, built in one place so both sides agree. */

/** Served by gpu-backend, called by the edge (EdDSA-signed). */
export const hostPaths = {
  dispatch: "/v1/jobs",
  cancel: (jobId: string) => `/v1/jobs/${encodeURIComponent(jobId)}/cancel`,
} as const;

/** Served by the edge Worker, called by hosts (Standard Webhooks-signed). */
export const edgePaths = {
  heartbeat: (hostId: string) => `/v1/hosts/${hostId}/heartbeat`,
  events: (hostId: string) => `/v1/hosts/${hostId}/events`,
  /** The host's catalog (object_info + model inventory), POSTed on ready and when it changes. */
  catalog: (hostId: string) => `/v1/hosts/${hostId}/catalog`,
  input: (hostId: string, jobId: string, inputId: string) => `/v1/hosts/${hostId}/jobs/${encodeURIComponent(jobId)}/inputs/${encodeURIComponent(inputId)}`,
  /** A registered model file the job names, by its SHA-256 (lease-bound, like inputs). */
  model: (hostId: string, jobId: string, sha256: string) => `/v1/hosts/${hostId}/jobs/${encodeURIComponent(jobId)}/models/${sha256}`,
  /** A model file the host's pool always keeps (not bound to a job; signed with a HostManifest). */
  pinnedModel: (hostId: string, sha256: string) => `/v1/hosts/${hostId}/models/${sha256}`,
  output: (hostId: string, jobId: string, name: string) => `/v1/hosts/${hostId}/jobs/${encodeURIComponent(jobId)}/outputs/${encodeURIComponent(name)}`,
  /** The latest sampler preview frame of a running job (PUT, lease-bound like outputs; issue 15). */
  preview: (hostId: string, jobId: string) => `/v1/hosts/${hostId}/jobs/${encodeURIComponent(jobId)}/preview`,
  /** Public keys hosts pin to verify the edge's requests. */
  jwks: "/v1/hosts/jwks.json",
  /** A launched host trades its one-time bootstrap token for its secret (protocol/bootstrap.ts). */
  bootstrap: "/v1/hosts/bootstrap",
} as const;
