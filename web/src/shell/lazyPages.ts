// Every routed page is its own chunk, loaded when its route is first shown (React.lazy), so the
// entry holds only React, the router, the API client and the shell. App.tsx imports the pages
// from here; a new page adds one line below.
import { lazy } from "react";

export const WorkflowsPage = lazy(() =>
  import("../pages/WorkflowsPage").then((m) => ({ default: m.WorkflowsPage })),
);
const editor = () => import("../pages/EditorPage").then((m) => ({ default: m.EditorPage }));
export const EditorPage = lazy(editor);
export const ExecutionsPage = lazy(() =>
  import("../pages/ExecutionsPage").then((m) => ({ default: m.ExecutionsPage })),
);
export const ExecutionPage = lazy(() =>
  import("../pages/ExecutionPage").then((m) => ({ default: m.ExecutionPage })),
);
export const AccountPage = lazy(() =>
  import("../pages/AccountPage").then((m) => ({ default: m.AccountPage })),
);
export const LoginPage = lazy(() =>
  import("../pages/SignIn").then((m) => ({ default: m.LoginPage })),
);
export const SetupPage = lazy(() =>
  import("../pages/SignIn").then((m) => ({ default: m.SetupPage })),
);
export const InvitePage = lazy(() =>
  import("../pages/SignIn").then((m) => ({ default: m.InvitePage })),
);

/** Fetch the editor's chunk ahead of a click (the workflows list calls it once it shows). */
export function preloadEditor(): void {
  void editor().catch(() => undefined);
}
