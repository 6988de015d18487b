// Every routed page is its own chunk, loaded when its route is first shown (React.lazy), so the
// entry holds only React, the router, the API client and the shell. App.tsx imports the pages
// from here; a new page adds one line below.
import { createElement, lazy, useState, type ComponentType } from "react";
import { api } from "../api";

type Page = ComponentType & { preload: () => Promise<unknown> };

/** A lazily loaded page that renders without suspending once its chunk is in (after a
 * ``preload()`` or an earlier visit): no fallback frame, no Suspense reveal delay. */
function page(load: () => Promise<ComponentType>): Page {
  let loaded: ComponentType | null = null;
  let pending: Promise<ComponentType> | null = null;
  const fetchIt = () =>
    (pending ??= load().then(
      (c) => (loaded = c),
      (err: unknown) => {
        pending = null; // a failed chunk (a new deploy, the network) is fetched again next time
        throw err;
      },
    ));
  const Lazy = lazy(() => fetchIt().then((c) => ({ default: c })));
  // chosen once per mount: switching from Lazy to the loaded component would remount the page
  function Wrapped() {
    const [Component] = useState<ComponentType>(() => loaded ?? Lazy);
    return createElement(Component);
  }
  Wrapped.preload = fetchIt;
  return Wrapped;
}

export const WorkflowsPage = page(() => import("../pages/WorkflowsPage").then((m) => m.WorkflowsPage));
export const EditorPage = page(() => import("../pages/EditorPage").then((m) => m.EditorPage));
export const ExecutionsPage = page(() => import("../pages/ExecutionsPage").then((m) => m.ExecutionsPage));
export const ExecutionPage = page(() => import("../pages/ExecutionPage").then((m) => m.ExecutionPage));
export const AccountPage = page(() => import("../pages/AccountPage").then((m) => m.AccountPage));
export const KnowledgePage = page(() => import("../knowledge/KnowledgePage").then((m) => m.KnowledgePage));
export const BasePage = page(() => import("../knowledge/BasePage").then((m) => m.BasePage));
export const DocumentView = page(() => import("../knowledge/DocumentView").then((m) => m.DocumentView));
export const SettingsPage = page(() => import("../settings/SettingsPage").then((m) => m.SettingsPage));
export const ChatHome = page(() => import("../chat/ChatHome").then((m) => m.ChatHome));
export const ChatThreadPage = page(() => import("../chat/ChatThread").then((m) => m.ChatThreadPage));
export const MemoriesPage = page(() => import("../chat/Memories").then((m) => m.MemoriesPage));
export const LoginPage = page(() => import("../pages/SignIn").then((m) => m.LoginPage));
export const SetupPage = page(() => import("../pages/SignIn").then((m) => m.SetupPage));
export const InvitePage = page(() => import("../pages/SignIn").then((m) => m.InvitePage));

/** Fetch the editor's chunk ahead of a click (the workflows list calls it once it shows). */
export function preloadEditor(): void {
  void EditorPage.preload().catch(() => undefined);
}

/** Start fetching the chunk of the page a fresh load lands on, beside the sign-in check
 * (instead of after it: the route renders only once the session is known). */
export function preloadFor(pathname: string): void {
  const target = pathname.startsWith("/editor/")
    ? EditorPage
    : pathname.startsWith("/runs/")
      ? ExecutionPage
      : pathname === "/runs"
        ? ExecutionsPage
        : pathname === "/account"
          ? AccountPage
          : ["/login", "/setup", "/invite"].includes(pathname)
            ? LoginPage
            : pathname === "/"
              ? WorkflowsPage
              : null;
  void target?.preload().catch(() => undefined);
  // the editor's node catalog too (fetched once per page load; a 401 just drops it)
  if (target === EditorPage) void api.nodes().catch(() => undefined);
}
