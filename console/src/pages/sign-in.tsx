/** Tenant sign-in: an API key and the end-user the console acts for, kept for this tab only. */
import { useState } from "preact/hooks";
import { tenantClient } from "../api.ts";
import { ProblemView } from "../components/problem.tsx";
import { saveTenantSession, type TenantSession } from "../session.ts";

const USER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export function SignIn({ onSignedIn }: { onSignedIn: (s: TenantSession) => void }) {
  const [apiKey, setApiKey] = useState("");
  const [userId, setUserId] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!USER_ID_RE.test(userId)) {
      setError(new Error("The user id is 1-128 letters, digits or . _ : @ -, starting with a letter or digit."));
      return;
    }
    const session = { apiKey: apiKey.trim(), userId };
    setBusy(true);
    try {
      // A call that needs both: a wrong key or user id is found out here, not on the first submit.
      await tenantClient(session).usage();
      saveTenantSession(session);
      onSignedIn(session);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <h1>Sign in</h1>
      <p>Use an API key of your organisation and the end-user id your jobs run as. They stay in this browser tab only.</p>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autocomplete="off" required value={apiKey} onInput={(e) => setApiKey(e.currentTarget.value)} />
        <label for="user-id">User id</label>
        <input id="user-id" autocomplete="username" required value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {error ? <ProblemView error={error} /> : null}
    </section>
  );
}
