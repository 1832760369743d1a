/** The signed-in tenant (if any) and its client, for every page of the console. */
import type { ComfyClient } from "comfyui-saas-client";
import { type ComponentChildren, createContext } from "preact";
import { useContext, useMemo, useState } from "preact/hooks";
import { tenantClient } from "./api.ts";
import { SignIn } from "./pages/sign-in.tsx";
import { clearTenantSession, type TenantSession, tenantSession } from "./session.ts";

interface SessionState {
  session: TenantSession | null;
  client: ComfyClient | null;
  signIn: (s: TenantSession) => void;
  signOut: () => void;
}

const SessionContext = createContext<SessionState>({ session: null, client: null, signIn: () => {}, signOut: () => {} });

export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [session, setSession] = useState(tenantSession);
  const value = useMemo<SessionState>(
    () => ({
      session,
      client: session ? tenantClient(session) : null,
      signIn: setSession,
      signOut: () => {
        clearTenantSession();
        setSession(null);
      },
    }),
    [session],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export const useSession = () => useContext(SessionContext);

/** Its children with the tenant's client once signed in; the sign-in form until then. */
export function RequireTenant({ children }: { children: (client: ComfyClient) => ComponentChildren }) {
  const { client, signIn } = useSession();
  return client ? <>{children(client)}</> : <SignIn onSignedIn={signIn} />;
}
