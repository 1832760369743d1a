/** The operator's view (ADMIN_TOKEN): pools and hosts, queues, recent failures, tenants and keys. */
import type { ComfyAdminClient, Failures, GpuHost, Pool } from "comfyui-saas-client";
import { useEffect, useMemo, useState } from "preact/hooks";
import { adminClient } from "../api.ts";
import { ProblemView } from "../components/problem.tsx";
import { FailuresPanel } from "../operator/failures-panel.tsx";
import { PoolsPanel } from "../operator/pools-panel.tsx";
import { TenantsPanel } from "../operator/tenants-panel.tsx";
import { clearOperatorToken, operatorToken, saveOperatorToken } from "../session.ts";

const REFRESH_MS = 5_000;

function OperatorSignIn({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await adminClient(token.trim()).pools.list();
      saveOperatorToken(token.trim());
      onSignedIn(token.trim());
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section class="narrow">
      <h1>Operator sign-in</h1>
      <p>The deployment's admin token. It stays in this browser tab only.</p>
      <form onSubmit={submit}>
        <label for="admin-token">Admin token</label>
        <input id="admin-token" type="password" autocomplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <button type="submit">Sign in</button>
      </form>
      {error ? <ProblemView error={error} /> : null}
    </section>
  );
}

function Dashboard({ admin, onSignOut }: { admin: ComfyAdminClient; onSignOut: () => void }) {
  const [data, setData] = useState<{ pools: Pool[]; hosts: GpuHost[]; failures: Failures } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [kick, setKick] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const [pools, hosts, failures] = await Promise.all([admin.pools.list(), admin.hosts.list(), admin.failures({ windowSeconds: 3600 })]);
        if (!stopped) {
          setData({ pools, hosts, failures });
          setError(null);
        }
      } catch (err) {
        if (!stopped) setError(err);
      }
      if (!stopped) timer = setTimeout(read, REFRESH_MS);
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [admin, kick]);

  return (
    <>
      <div class="row">
        <h1>Operator</h1>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out of the operator view
        </button>
      </div>
      {error ? <ProblemView error={error} /> : null}
      {data ? (
        <>
          <PoolsPanel admin={admin} pools={data.pools} hosts={data.hosts} onChanged={() => setKick((k) => k + 1)} />
          <FailuresPanel failures={data.failures} />
        </>
      ) : (
        <p class="muted">Loading…</p>
      )}
      <TenantsPanel admin={admin} />
    </>
  );
}

export function OperatorPage() {
  const [token, setToken] = useState(operatorToken);
  const admin = useMemo(() => (token ? adminClient(token) : null), [token]);
  if (!admin) return <OperatorSignIn onSignedIn={setToken} />;
  return (
    <Dashboard
      admin={admin}
      onSignOut={() => {
        clearOperatorToken();
        setToken(null);
      }}
    />
  );
}
