import type { ReactNode } from "react";
import type { Role } from "../api";
import { atLeast, useAuth } from "../auth";

/** Renders its page only for ``role`` or higher; others read why (no request is made). */
export function RequireRole({ role, children }: { role: Role; children: ReactNode }) {
  const { me } = useAuth();
  if (atLeast(me, role)) return <>{children}</>;
  return (
    <section className="page">
      <p role="alert" className="error">
        This page needs the {role} role; you are {me?.role ?? "signed out"}.
      </p>
    </section>
  );
}

/** A short local date and time, or a dash. */
export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}
