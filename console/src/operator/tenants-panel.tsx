/** Tenants with their limits (editable: empty means the deployment's default) and their API keys. */
import type { ApiKey, ComfyAdminClient, Tenant } from "comfyui-saas-client";
import { useEffect, useState } from "preact/hooks";
import { ProblemView } from "../components/problem.tsx";

const LIMITS = [
  ["max_active_jobs_per_user", "Active jobs per user"],
  ["max_active_jobs_per_tenant", "Active jobs per tenant"],
  ["requests_per_minute", "Submissions per minute"],
  ["uploads_per_day", "Uploads per day"],
  ["upload_bytes_per_day", "Upload bytes per day"],
  ["model_files", "Model files"],
  ["model_bytes", "Model bytes"],
  ["gpu_seconds_per_month", "GPU seconds per month (0: no cap)"],
] as const;
type LimitName = (typeof LIMITS)[number][0];

function LimitsForm({ admin, tenant, onSaved }: { admin: ComfyAdminClient; tenant: Tenant; onSaved: (t: Tenant) => void }) {
  const initial = () => Object.fromEntries(LIMITS.map(([k]) => [k, tenant.limit_overrides[k]?.toString() ?? ""])) as Record<LimitName, string>;
  const [values, setValues] = useState(initial);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => setValues(initial()), [tenant]);

  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const limits: Partial<Record<LimitName, number | null>> = {};
    for (const [k, label] of LIMITS) {
      const raw = values[k].trim();
      const n = Number(raw);
      if (raw !== "" && !(Number.isSafeInteger(n) && n >= 0)) {
        setError(new Error(`${label}: a whole number of at least 0, or empty for the default.`));
        return;
      }
      limits[k] = raw === "" ? null : n;
    }
    try {
      onSaved(await admin.tenants.update(tenant.id, { limits }));
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <form onSubmit={save} class="limits">
      <fieldset>
        <legend>Limits of {tenant.name}</legend>
        {LIMITS.map(([k, label]) => (
          <div class="field" key={k}>
            <label for={`limit-${k}`}>{label}</label>
            <input
              id={`limit-${k}`}
              type="number"
              min={0}
              step={1}
              inputMode="numeric"
              placeholder={`default (${tenant.limits[k]})`}
              value={values[k]}
              onInput={(e) => setValues((v) => ({ ...v, [k]: e.currentTarget.value }))}
            />
          </div>
        ))}
      </fieldset>
      <button type="submit">Save limits</button>
      {saved ? <p role="status">Saved.</p> : null}
      {error ? <ProblemView error={error} /> : null}
    </form>
  );
}

function Keys({ admin, tenant }: { admin: ComfyAdminClient; tenant: Tenant }) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reload = () => admin.keys.list(tenant.id).then(setKeys, setError);
  useEffect(() => {
    setCreated(null);
    void reload();
  }, [tenant.id]);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const key = await admin.keys.create(tenant.id, name.trim() ? { name: name.trim() } : {});
      setCreated(key.key);
      setName("");
      await reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (key: ApiKey) => {
    setError(null);
    try {
      await admin.keys.revoke(key.id);
      await reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div class="keys">
      <h4>API keys</h4>
      <form onSubmit={create} class="row wrap">
        <label for="key-name">New key's name</label>
        <input id="key-name" value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={200} />
        <button type="submit">Create key</button>
      </form>
      {created ? (
        <div class="secret" role="status">
          <p>The new key, shown only now: store it before leaving this page.</p>
          <code data-testid="created-key">{created}</code>
        </div>
      ) : null}
      {error ? <ProblemView error={error} /> : null}
      {keys === null ? (
        <p class="muted">Loading keys…</p>
      ) : keys.length === 0 ? (
        <p>No keys yet.</p>
      ) : (
        <ul class="key-list">
          {keys.map((k) => (
            <li key={k.id} data-key-id={k.id}>
              <code>{k.id}</code> {k.name ?? <span class="muted">unnamed</span>}{" "}
              {k.revoked_at ? (
                <span class="muted">revoked</span>
              ) : (
                <button type="button" class="danger" onClick={() => void revoke(k)} aria-label={`Revoke key ${k.name ?? k.id}`}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function TenantsPanel({ admin }: { admin: ComfyAdminClient }) {
  const [tenants, setTenants] = useState<Tenant[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [selected, setSelected] = useState<Tenant | null>(null);
  const [error, setError] = useState<unknown>(null);

  const more = async (from?: string) => {
    try {
      const page = await admin.tenants.list({ limit: 100, ...(from ? { cursor: from } : {}) });
      setTenants((t) => [...(from ? (t ?? []) : []), ...page.data]);
      setCursor(page.next_cursor);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void more(), [admin]);

  return (
    <section aria-labelledby="tenants-title">
      <h2 id="tenants-title">Tenants</h2>
      {error ? <ProblemView error={error} /> : null}
      {tenants === null ? (
        <p class="muted">Loading tenants…</p>
      ) : (
        <div class="split">
          <ul class="tenant-list">
            {tenants.map((t) => (
              <li key={t.id}>
                <button
                  type="button"
                  class={selected?.id === t.id ? "link current" : "link"}
                  aria-pressed={selected?.id === t.id}
                  onClick={() => setSelected(t)}
                >
                  {t.name}
                </button>
              </li>
            ))}
            {cursor ? (
              <li>
                <button type="button" class="secondary" onClick={() => void more(cursor)}>
                  More tenants
                </button>
              </li>
            ) : null}
          </ul>
          {selected ? (
            <div class="tenant">
              <h3>{selected.name}</h3>
              <p class="muted">
                <code>{selected.id}</code>
              </p>
              <LimitsForm
                admin={admin}
                tenant={selected}
                onSaved={(t) => {
                  setSelected(t);
                  setTenants((list) => list?.map((x) => (x.id === t.id ? t : x)) ?? null);
                }}
              />
              <Keys admin={admin} tenant={selected} />
            </div>
          ) : (
            <p>Choose a tenant to see its limits and keys.</p>
          )}
        </div>
      )}
    </section>
  );
}
