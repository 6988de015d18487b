import { Component, type ErrorInfo, type ReactNode } from "react";

interface Props {
  children: ReactNode;
}

interface State {
  error: Error | null;
}

/** Catches a page that throws while rendering (or whose chunk fails to load after a new
 * deploy): a message and a reload button instead of a blank screen. App.tsx keys it by the
 * path, so moving to another page starts afresh. */
export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error("page crashed", error, info.componentStack);
  }

  render(): ReactNode {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <section className="page crashed" role="alert" aria-label="This page crashed">
        <h1>Something went wrong on this page</h1>
        <p>
          The page stopped with an error. Reload to try again; what you saved is safe. If it
          happens again, the message below helps whoever fixes it.
        </p>
        <pre className="error" data-testid="crash-message">{error.message}</pre>
        <button type="button" onClick={() => window.location.reload()}>
          Reload page
        </button>
      </section>
    );
  }
}
