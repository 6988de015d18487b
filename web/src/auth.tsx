import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { ApiError, api, request, setCsrfToken, type Me, type Role } from "./api";
import { chooseWorkspace } from "./shell/WorkspaceSwitcher";

interface AuthState {
  me: Me | null;
  loading: boolean;
  refresh: () => Promise<Me | null>;
  signedIn: (me: Me) => void;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };

/** True when the signed-in role is at least ``role``. */
export function atLeast(me: Me | null, role: Role): boolean {
  return !!me && RANK[me.role] >= RANK[role];
}

async function loadMe(): Promise<Me | null> {
  try {
    return await api.me();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 401) return null;
    if (err.status !== 404 && err.status !== 405) throw err;
  }
  // A server without browser sign-in (or the dev proxy signing with an API key): /workspace
  // still says who we are.
  try {
    const ws = await request<{ id: string; slug: string; name: string; role: Role }>("/workspace");
    return {
      user: { id: "", email: "", name: null },
      workspace: { id: ws.id, slug: ws.slug, name: ws.name },
      role: ws.role,
      csrf_token: "",
    };
  } catch {
    return null;
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(true);

  const signedIn = useCallback((value: Me) => {
    setCsrfToken(value.csrf_token || null);
    setMe(value);
  }, []);

  const refresh = useCallback(async () => {
    const value = await loadMe().catch(() => null);
    setCsrfToken(value?.csrf_token || null);
    setMe(value);
    setLoading(false);
    return value;
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      chooseWorkspace(null); // the next person signing in here starts in their own workspace
      setCsrfToken(null);
      setMe(null);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return (
    <AuthContext.Provider value={{ me, loading, refresh, signedIn, signOut }}>
      {children}
    </AuthContext.Provider>
  );
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}
