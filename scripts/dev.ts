// `npm run dev`: the whole system on this machine. Completes .dev.vars (random secrets, keeping
// what is there), serves the edge on 127.0.0.1:8787 (PORT to change it) with its local state in
// .wrangler/, starts one ComfyUI emulator and one gpu-backend registered as host `gpu-1`, creates
// a dev tenant and API key the first time (kept in .wrangler/dev-stack.json), and prints a curl
// that submits a workflow and the console's address (`-- --autoscale`: no fixed host, the default
// pool launches hosts through the local provider as jobs need them). Ctrl-C stops everything. The
// console is built first (predev).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDevVars, generatedSecrets, obsoleteSecrets, parseDevVars } from "./lib/dev-vars.ts";
import { startLocalProvider } from "./lib/local-provider.ts";
import { startLocalStack } from "./lib/local-stack.ts";
import { ROOT } from "./lib/wrangler-dev.ts";

const port = Number(process.env.PORT ?? 8787);
const devVarsPath = join(ROOT, ".dev.vars");
const statePath = join(ROOT, ".wrangler/dev-stack.json");

const added = ensureDevVars(devVarsPath);
if (added.length > 0) console.log(`[dev] generated ${added.join(", ")} in .dev.vars`);
const vars = parseDevVars(readFileSync(devVarsPath, "utf8"));
for (const name of obsoleteSecrets) {
  // Values encrypted under it before key ids existed are not read (docs/key-rotation.md).
  if (vars.has(name)) console.log(`[dev] ${name} in .dev.vars is no longer read (DATA_ENCRYPTION_KEYS replaced it); you may delete that line`);
}
const secret = (name: string) => {
  const v = vars.get(name);
  if (!v) throw new Error(`${name} missing from .dev.vars`);
  return v;
};

// `npm run dev -- --autoscale`: no fixed host; DEFAULT_POOL launches emulator + gpu-backend pairs
// through the local provider as its queue needs them (docs/capacity.md), 20 s after each launch.
const autoscale = process.argv.includes("--autoscale");
const provider = autoscale ? await startLocalProvider({ bootDelayMs: 20_000, backendEnv: { HEARTBEAT_INTERVAL_MS: "5000" } }) : null;

console.log(autoscale ? "[dev] starting the edge and the local GPU provider…" : "[dev] starting the edge, a ComfyUI emulator and a gpu-backend…");
const stack = await startLocalStack({
  hosts: autoscale ? 0 : 1,
  secrets: {
    ADMIN_TOKEN: secret("ADMIN_TOKEN"),
    DATA_ENCRYPTION_KEYS: secret("DATA_ENCRYPTION_KEYS"),
    OUTPUT_URL_KEYS: secret("OUTPUT_URL_KEYS"),
    EDGE_SIGNING_KEY: secret("EDGE_SIGNING_KEY"),
  },
  // Whatever else the developer put in .dev.vars (e.g. OUTBOUND_ALLOW_HOSTS) applies as usual.
  vars: {
    ...Object.fromEntries([...vars].filter(([k]) => !(k in generatedSecrets) && !obsoleteSecrets.includes(k))),
    ...(provider ? { LOCAL_PROVIDER_URL: provider.url, LOCAL_PROVIDER_TOKEN: provider.token } : {}),
  },
  edge: { port, stateDir: join(ROOT, ".wrangler/state") },
  backendEnv: { HEARTBEAT_INTERVAL_MS: "5000" },
});
{
  // On with --autoscale; off otherwise, since the state in .wrangler/ outlives a run.
  const autoscaling = provider ? { provider: "local", max_hosts: 2, scaledown_window_seconds: 120, edge_url: stack.edge.url } : null;
  const res = await stack.admin("/v1/admin/pools/default", { method: "PATCH", body: JSON.stringify({ autoscaling }) });
  if (res.status !== 200) throw new Error(`setting the default pool's autoscaling: ${res.status} ${await res.text()}`);
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\n[dev] stopping…");
  await stack.stop();
  await provider?.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

// A dev tenant and key, reused across runs while they still work.
interface DevState {
  tenantId: string;
  apiKey: string;
}
let state: DevState | null = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, "utf8")) as DevState) : null;
if (state) {
  const res = await fetch(`${stack.edge.url}/v1/usage`, { headers: { Authorization: `Bearer ${state.apiKey}`, "X-User-ID": "dev" } });
  if (res.status !== 200) state = null;
}
if (!state) {
  const tenant = (await (await stack.admin("/v1/admin/tenants", { method: "POST", body: JSON.stringify({ name: "dev" }) })).json()) as { id: string };
  const key = (await (await stack.admin(`/v1/admin/tenants/${tenant.id}/keys`, { method: "POST", body: JSON.stringify({ name: "dev" }) })).json()) as {
    key: string;
  };
  state = { tenantId: tenant.id, apiKey: key.key };
  mkdirSync(join(ROOT, ".wrangler"), { recursive: true });
  writeFileSync(statePath, JSON.stringify(state, null, 2), { mode: 0o600 });
}

const base = stack.edge.url;
console.log(`
[dev] ready: API ${base} (docs ${base}/docs), ${
  provider
    ? "GPU hosts: autoscaled (pool default, local provider: up to 2, each boots in 20 s; GET /v1/admin/pools/default/instances)"
    : `GPU host gpu-1 (ComfyUI emulator on 127.0.0.1:${stack.hosts[0]!.emulatorPort})`
}
[dev] admin token: ADMIN_TOKEN in .dev.vars; dev tenant ${state.tenantId}, its API key in .wrangler/dev-stack.json

[dev] console: ${base}/console (sign in with the dev API key (in the curl below) and user id dev; the operator view takes ADMIN_TOKEN)

Submit ComfyUI's default text-to-image graph (examples/ has more), then read the job (its
outputs[].url downloads the PNG):

  curl -s -X POST ${base}/v1/jobs -H 'Authorization: Bearer ${state.apiKey}' -H 'X-User-ID: dev' \\
    -H 'Content-Type: application/json' -d @examples/txt2img.json

  curl -s ${base}/v1/jobs -H 'Authorization: Bearer ${state.apiKey}' -H 'X-User-ID: dev'

Ctrl-C stops everything.`);
